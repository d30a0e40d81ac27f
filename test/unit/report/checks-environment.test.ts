/**
 * What the PR says about the checks' environment and about a check that already failed before
 * the change: the environment that was not a hosted runner's (the repository's `env:`, masked,
 * and Tollgate's own in one line), and the failing check's last lines, masked and folded, with
 * the plain word that the change is **not verified** by it.
 */
import type { VerifyOutput } from "../../../src/phases/verify/verify.js";
import { renderPrBody, type PrBodyInput } from "../../../src/report/pr-body.js";
import { environmentLines, setupSection } from "../../../src/report/setup-summary.js";
import type { SetupOutput } from "../../../src/setup/setup.js";
import { expectGolden } from "../../helpers/golden.js";

const setup: SetupOutput = {
  source: "detected",
  ecosystem: "node",
  notes: ["package-lock.json: npm ci."],
  commands: [{ argv: ["npm", "ci"], exitCode: 0, timedOut: false, durationMs: 12_400, offline: false }],
  verify: [
    ["npm", "test"],
    ["npm", "run", "e2e"],
  ],
  verifySource: "configured",
  cache: { state: "miss" },
  installed: ["node_modules"],
  reverted: [],
  durationMs: 13_000,
};

const token = `ghp_${"a1B2c3D4e5".repeat(4)}`;
/** The end of a real-shaped e2e failure: the database the project's CI starts as a service is not there. */
const e2eTail = [
  "[… 212 lines …]",
  "  ● orders › lists the orders of a customer",
  "",
  "    connect ECONNREFUSED 127.0.0.1:5432",
  "",
  "      at TCPConnectWrap.afterConnect [as oncomplete] (node:net:1607:16)",
  "",
  `  (the test's connection string was postgres://ci:${token}@127.0.0.1/orders)`,
  "Test Suites: 1 failed, 11 passed, 12 total",
  "Tests:       7 failed, 141 passed, 148 total",
  "```",
  "@maintainers fixes #1",
].join("\n");

const verify: VerifyOutput = {
  passed: true,
  checks: [
    { argv: ["npm", "test"], exitCode: 0, timedOut: false, durationMs: 8_200, excerpt: "", tests: { passed: 141, failed: 0, skipped: 0 } },
    { argv: ["npm", "run", "e2e"], exitCode: 1, timedOut: false, durationMs: 31_000, excerpt: e2eTail, preexisting: true },
  ],
};

const input: PrBodyInput = {
  issueNumber: 7,
  setup,
  repoEnv: { TZ: "Europe/Berlin", NO_COLOR: "1", FIXTURE_URL: `https://example.com/${"x".repeat(120)}` },
  plan: {
    summary: "List a customer's orders newest first.",
    steps: ["Sort by created_at descending in src/orders.ts."],
    files: ["src/orders.ts"],
    work_units: [{ id: "sort", title: "Sort orders", instructions: "Sort.", files: ["src/orders.ts"] }],
    test_strategy: "Run `npm test`.",
    acceptance_checks: ["Newest order first"],
  },
  execute: {
    units: [{ id: "sort", title: "Sort orders", summary: "Sorted newest first.", changed: true }],
    patch: "",
    changedFiles: ["src/orders.ts"],
  },
  verify,
  review: { verdict: "approve", summary: "Looks right.", findings: [] },
  costTable: "| Phase | Cost (USD) |\n|---|---:|\n| **Total** | **$0.20** |",
  costs: [],
  iterations: 1,
};

const section = (text: string, heading: string) => text.split(`## ${heading}\n\n`)[1]!.split("\n## ")[0]!;

describe("the checks' environment on the PR", () => {
  it("lists the repository's env: with masked, shortened values, and Tollgate's own in one line", () => {
    const lines = environmentLines({ B: "2", A: `x ${token}\ny`, LONG: "v".repeat(100) });
    expect(lines[0]).toBe(
      "Environment: what a GitHub-hosted runner gives a step (`CI=true`, `LANG=C.UTF-8`; Tollgate sets no `NO_COLOR`, `TERM` or `FORCE_COLOR`), and also:",
    );
    expect(lines[2]).toBe(
      `- from \`env:\` in .github/tollgate.yml: \`A=x [redacted GitHub token] y\`, \`B=2\`, \`LONG=${"v".repeat(79)}…\`;`,
    );
    expect(lines.join("\n")).not.toContain(token);
    expect(lines[3]).toMatch(/^- from Tollgate: `TZ=UTC` \(a runner's clock\), `HOME=\/tmp` .*`npm_config_offline=true`/);
    // the repository's own TZ is the one its commands had: Tollgate's is not claimed
    expect(environmentLines({ TZ: "Asia/Tokyo" }).join("\n")).not.toContain("TZ=UTC");
  });

  it("says Tollgate's variables also when the repository sets none", () => {
    const lines = environmentLines({});
    expect(lines).toHaveLength(3);
    expect(lines[2]).toMatch(/^- from Tollgate: /);
    expect(setupSection(setup).join("\n")).toContain("\nEnvironment: what a GitHub-hosted runner gives a step");
  });
});

describe("a check that already failed before the change, on the PR", () => {
  it("renders the setup section's environment and the check's last lines, masked and folded, and says not verified (golden)", () => {
    const text = renderPrBody(input);
    expectGolden("pr-body-not-verified", text);
    expect(text).not.toContain(token);
  });

  it("says plainly that the change is not verified by it, and shows its last lines in a fence its output cannot close", () => {
    const text = section(renderPrBody(input), "Verification");
    expect(text).toContain(
      "> This change is **not verified** by `npm run e2e`: a check that already fails cannot tell whether the change works.",
    );
    expect(text).toContain("<details><summary>Last lines of <code>npm run e2e</code> (exit 1)</summary>\n\n````text\n");
    // the output's own fence, mention and closing keyword stay inside the block, as text
    expect(text).toContain("\n```\n@maintainers fixes #1\n````\n\n</details>");
    expect(text).toContain("connection string was [redacted URL with password]@127.0.0.1/orders");
    // only the end of a long output
    const long = Array.from({ length: 200 }, (_, i) => `line ${i}`).join("\n");
    const many = renderPrBody({ ...input, verify: { passed: true, checks: [{ ...verify.checks[1]!, excerpt: long }] } });
    expect(many).toContain("line 180\n");
    expect(many).toContain("line 199\n");
    expect(many).not.toContain("line 179\n");
  });

  it("says nothing of the kind when no check was already failing", () => {
    const text = renderPrBody({ ...input, verify: { passed: true, checks: [verify.checks[0]!] } });
    expect(text).not.toContain("not verified");
    expect(text).not.toContain("Last lines of");
  });
});
