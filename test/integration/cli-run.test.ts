/**
 * `tollgate run` as a user tries Tollgate before installing it: the compiled CLI on a local git
 * repository and an issue file, on the embedded database, with scripted answers (`--script`)
 * standing in for the API.
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { tollgate } from "../helpers/cli.js";
import { git } from "../helpers/git.js";
import { approve, CONFIG, done, edit, gate, planOf, project, unit } from "../helpers/greeter.js";

const ENV = { LOG_FORMAT: "json", LOG_LEVEL: "info" };

function setup(options: { config?: string; script?: Record<string, unknown>; issue?: string } = {}) {
  const { seed } = project();
  mkdirSync(path.join(seed, ".github"), { recursive: true });
  writeFileSync(path.join(seed, ".github/tollgate.yml"), options.config ?? CONFIG());
  git(seed, "add", "-A");
  git(seed, "-c", "user.name=Human", "-c", "user.email=human@example.com", "commit", "-q", "-m", "tollgate settings");
  const dir = mkdtempSync(path.join(tmpdir(), "tollgate-cli-run-"));
  const issue = path.join(dir, "greet-hi.md");
  writeFileSync(
    issue,
    options.issue ??
      "# greet() should say hi\n\n`greet('Ada')` returns `Hello Ada`; it should return `Hi Ada`. test/greet.test.js checks it.\n",
  );
  const script = path.join(dir, "script.json");
  writeFileSync(
    script,
    JSON.stringify(
      options.script ?? {
        gate,
        plan: planOf([unit("greeting", ["src/greet.js"])]),
        "execute/greeting": [edit("src/greet.js", '"Hello "', '"Hi "'), done("Changed the greeting to Hi.")],
        review: [approve],
      },
    ),
  );
  const env = { ...ENV, TOLLGATE_DATA_DIR: path.join(dir, "data") };
  return { seed, dir, issue, script, env };
}

describe("tollgate run", () => {
  it("runs the pipeline on a local repository: report to stdout and a file, the change on a branch", async () => {
    const { seed, dir, issue, script, env } = setup();
    const head = git(seed, "rev-parse", "HEAD").trim();
    const out = path.join(dir, "report.md");
    const child = tollgate(["run", "--repo", seed, "--issue", issue, "--script", script, "--out", out], env, dir);
    expect(await child.exit).toBe(0);
    const stdout = child.stdout();
    expect(stdout).toContain("### Tollgate spec gate: ready ✅ (score 86/100)");
    expect(stdout).toContain("Branch `tollgate/greet-hi`");
    expect(stdout).toContain("| `node --test test/` | ✅ passed (tests: 1 passed) |");
    expect(stdout).toContain("**Approved ✅**");
    expect(stdout).toMatch(/\| \*\*Total\*\* \| \| \*\*6\*\* \|/);
    expect(readFileSync(out, "utf8")).toBe(stdout);
    // the change is on its own branch; the user's checkout is untouched
    expect(git(seed, "show", "tollgate/greet-hi:src/greet.js")).toContain('"Hi "');
    expect(git(seed, "log", "-1", "--format=%an|%s", "tollgate/greet-hi").trim()).toBe("tollgate[bot]|greet() should say hi");
    expect(git(seed, "rev-parse", "HEAD").trim()).toBe(head);
    expect(git(seed, "status", "--porcelain").trim()).toBe("");
    // logs go to stderr, as JSON lines, one per phase
    expect(child.stderr()).toContain('"msg":"phase succeeded"');
  });

  it("stops after the gate with exit code 2 when the issue is not ready", async () => {
    const notReady = structuredClone(gate);
    const input = (notReady[0] as { toolUse: { input: Record<string, unknown> } }).toolUse.input;
    Object.assign(input, { ready: false, score: 30, questions: ["What should greet() return?"] });
    (input.criteria as Record<string, unknown>).acceptance_criteria = { status: "missing", note: "No expected output." };
    const { seed, dir, issue, script, env } = setup({ script: { gate: notReady } });
    const child = tollgate(["run", "--repo", seed, "--issue", issue, "--script", script], env, dir);
    expect(await child.exit).toBe(2);
    expect(child.stdout()).toContain("needs more spec ❌ (score 30/100)");
    expect(child.stdout()).toContain("1. What should greet() return?");
    expect(readFileSync(path.join(dir, "tollgate-report-greet-should-say-hi.md"), "utf8")).toContain("needs more spec");
  });

  it.each([
    [
      "an issue file that does not exist",
      (s: ReturnType<typeof setup>) => ["--repo", s.seed, "--issue", path.join(s.dir, "nope.md"), "--script", s.script],
      /^tollgate: --issue .*nope\.md: no such file\n$/,
    ],
    [
      "a folder that is not a git repository",
      (s: ReturnType<typeof setup>) => ["--repo", s.dir, "--issue", s.issue, "--script", s.script],
      /^tollgate: --repo .* is not a git repository\n$/,
    ],
    [
      "no API key and no script",
      (s: ReturnType<typeof setup>) => ["--repo", s.seed, "--issue", s.issue],
      /^tollgate: ANTHROPIC_API_KEY is not set/,
    ],
    [
      "a negative budget",
      (s: ReturnType<typeof setup>) => ["--repo", s.seed, "--issue", s.issue, "--script", s.script, "--budget", "-5"],
      /^tollgate: --budget "-5" is not a positive number of dollars\n$/,
    ],
  ])("exits 1 with one line for %s", async (_what, args, expected) => {
    const s = setup();
    const child = tollgate(["run", ...args(s)], s.env, s.dir);
    expect(await child.exit).toBe(1);
    expect(child.stderr()).toMatch(expected);
    expect(child.stderr().trim().split("\n")).toHaveLength(1);
  });

  it("exits 1 quoting the bad key of an invalid repo config", async () => {
    const s = setup({ config: "verfy:\n  commands: []\n" });
    const child = tollgate(["run", "--repo", s.seed, "--issue", s.issue, "--script", s.script], s.env, s.dir);
    expect(await child.exit).toBe(1);
    expect(child.stderr()).toMatch(/^tollgate: \.github\/tollgate\.yml is invalid: `verfy`: unknown key\n$/);
  });
});
