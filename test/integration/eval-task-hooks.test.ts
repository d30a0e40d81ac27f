/**
 * A shared suite's task folder that carries its own `.git` with hooks, through the compiled
 * `tollgate eval` (as an operator runs it): no hook runs on the host, and the operator's
 * environment reaches none; the task is still evaluated as usual.
 */
import { execFileSync } from "node:child_process";
import { chmodSync, cpSync, mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { ROOT, tollgate } from "../helpers/cli.js";

describe("tollgate eval on a task folder with git hooks", () => {
  it("prepares the task without running them, and resolves it", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "tollgate-eval-hooks-"));
    const marks = mkdtempSync(path.join(tmpdir(), "tollgate-marks-"));
    const suite = path.join(dir, "suite");
    cpSync(path.join(ROOT, "eval/greeter"), suite, { recursive: true });
    const yml = execFileSync("sed", ["-n", "/^  - id: greet-hi/,/^    script:/p", path.join(suite, "suite.yml")], { encoding: "utf8" });
    writeFileSync(path.join(suite, "suite.yml"), `name: hooks\ntasks:\n${yml}`);
    const repo = path.join(suite, "repo");
    execFileSync("git", ["init", "-q", "-b", "main", repo]);
    for (const hook of ["pre-commit", "post-commit", "post-checkout", "reference-transaction"]) {
      const file = path.join(repo, ".git/hooks", hook);
      writeFileSync(file, `#!/bin/sh\necho "${hook} ran with TOLLGATE_FAKE_KEY=$TOLLGATE_FAKE_KEY" > "${marks}/RAN-${hook}"\n`);
      chmodSync(file, 0o755);
    }

    const env = { LOG_FORMAT: "json", LOG_LEVEL: "warn", TOLLGATE_DATA_DIR: path.join(dir, "data"), TOLLGATE_FAKE_KEY: "sk-ant-FAKE" };
    const child = tollgate(["eval", suite, "--scripted", "--runs", "1", "--format", "json"], env, dir);
    expect({ exit: await child.exit, stderr: child.stderr() }).toMatchObject({ exit: 0 });
    expect(readdirSync(marks)).toEqual([]);
    const report = JSON.parse(child.stdout());
    expect(report.attempts.map((a: { task: string; resolved: boolean }) => [a.task, a.resolved])).toEqual([["greet-hi", true]]);
  }, 120_000);
});
