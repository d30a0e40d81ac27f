import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { byVersion, summarise, type Attempt } from "../../../src/eval/report.js";
import { loadSuite, SuiteError } from "../../../src/eval/suite.js";
import { prepareTaskRepo } from "../../../src/eval/task-repo.js";

const git = (cwd: string, ...args: string[]) =>
  execFileSync("git", ["-c", "user.name=T", "-c", "user.email=t@example.com", ...args], { cwd, encoding: "utf8" });

function suiteWith(yaml: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), "tollgate-suite-"));
  writeFileSync(path.join(dir, "suite.yml"), yaml);
  return dir;
}

const attempt = (task: string, prompts: string[], o: Partial<Attempt> = {}): Attempt => ({
  task,
  attempt: 1,
  expect: "ready",
  runId: task,
  ready: true,
  status: "succeeded",
  resolved: true,
  detail: "exit 0",
  figures: { runId: task, iterations: 1, phases: [{ phase: "plan", calls: 1, tokens: 100, costMicros: 1000, unknownCost: 0 }], prompts },
  ...o,
});

describe("evaluation suites", () => {
  it("names the first problem of a suite file", () => {
    expect(() => loadSuite(suiteWith("name: x\ntasks: []\n"))).toThrow(/tasks .*at least 1|tasks/);
    const task = "  - id: Bad_Id\n    issue: { title: t }\n    repository: { dir: repo }\n    expect: not_ready\n";
    expect(() => loadSuite(suiteWith(`name: x\ntasks:\n${task}`))).toThrow("tasks.0.id must be lower-case letters, digits and dashes");
    const noCheck = "  - id: a\n    issue: { title: t }\n    repository: { dir: repo }\n";
    expect(() => loadSuite(suiteWith(`name: x\ntasks:\n${noCheck}`))).toThrow("task a expects a run but has no hidden check");
    const escape = "  - id: a\n    issue: { title: t }\n    repository: { dir: ../outside }\n    expect: not_ready\n";
    expect(() => loadSuite(suiteWith(`name: x\ntasks:\n${escape}`))).toThrow(SuiteError);
  });

  it("starts a mirror task from its commit's parent and keeps the commit's tests hidden", async () => {
    const mirrors = mkdtempSync(path.join(tmpdir(), "tollgate-mirrors-"));
    const seed = mkdtempSync(path.join(tmpdir(), "tollgate-seed-"));
    git(seed, "init", "-q", "-b", "main");
    writeFileSync(path.join(seed, "lib.js"), "export const f = () => 1;\n");
    git(seed, "add", "-A");
    git(seed, "commit", "-q", "-m", "first");
    writeFileSync(path.join(seed, "lib.js"), "export const f = () => 2;\n");
    writeFileSync(path.join(seed, "lib.test.js"), "// f() is 2\n");
    git(seed, "add", "-A");
    git(seed, "commit", "-q", "-m", "f returns 2");
    const commit = git(seed, "rev-parse", "HEAD").trim();
    mkdirSync(path.join(mirrors, "octo+lib"));
    git(mirrors, "clone", "-q", "--bare", seed, path.join(mirrors, "octo+lib", "repo"));
    const dir = suiteWith(
      `name: x\ntasks:\n  - id: f\n    issue: { title: f should return 2 }\n    repository: { mirror: octo/lib, commit: ${commit} }\n    hidden: { paths: [lib.test.js], command: [node, --test] }\n`,
    );
    const suite = loadSuite(dir);
    const repo = await prepareTaskRepo(suite, suite.tasks[0]!, path.join(dir, "attempt"), mirrors);
    expect(readFileSync(path.join(repo.dir, "lib.js"), "utf8")).toBe("export const f = () => 1;\n");
    expect(git(repo.dir, "ls-files").trim()).toBe("lib.js");
    expect(repo.hidden.get("lib.test.js")!.toString()).toBe("// f() is 2\n");
    // a commit that was never fetched is named, with what to do
    const stale = suiteWith(
      `name: x\ntasks:\n  - id: f\n    issue: { title: t }\n    repository: { mirror: octo/lib, commit: ${"a".repeat(40)} }\n    hidden: { paths: [x], command: [x] }\n`,
    );
    const s2 = loadSuite(stale);
    await expect(prepareTaskRepo(s2, s2.tasks[0]!, path.join(stale, "attempt"), mirrors)).rejects.toThrow(
      /is not in .*fetch the repository first/,
    );
  });

  it("groups attempts by prompt version, a held-back ticket with the runs of the same gate prompt", () => {
    const v1 = ["execute.system@2", "gate.verdict@2", "plan.system@2"];
    const v2 = ["execute.system@3", "gate.verdict@2", "plan.system@2"];
    const groups = byVersion([
      attempt("a", v1),
      attempt("b", v2, { resolved: false }),
      attempt("c", ["gate.verdict@2"], { expect: "not_ready", ready: false, resolved: null, status: "needs_spec" }),
    ]);
    expect(groups.map((g) => [g.prompts, g.attempts.map((a) => a.task)])).toEqual([
      [v1, ["a", "c"]],
      [v2, ["b"]],
    ]);
    const [first, second] = summarise([attempt("a", v1), attempt("a2", v1, { resolved: false }), attempt("b", v2, { resolved: false })]);
    expect(first).toMatchObject({
      runnable: 2,
      resolved: 1,
      resolvedRate: 0.5,
      perResolved: [{ phase: "plan", costMicros: 2000, tokens: 200 }],
    });
    expect(second).toMatchObject({ resolved: 0, resolvedRate: 0, perResolved: null, gatePrecision: null });
  });
});
