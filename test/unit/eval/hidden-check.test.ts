/**
 * The hidden check on a branch the agents wrote: the hidden test decides, and a symlink the branch
 * planted where a hidden file goes cannot carry that write out of the checkout onto the host.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseRepoConfig } from "../../../src/config/repo-config.js";
import { hiddenCheck } from "../../../src/eval/hidden-check.js";
import { loadSuite } from "../../../src/eval/suite.js";
import { detectSandbox } from "../../../src/sandbox/sandbox.js";
import { captureLog } from "../../helpers/log.js";

const git = (cwd: string, ...args: string[]) =>
  execFileSync("git", ["-c", "user.name=T", "-c", "user.email=t@example.com", ...args], { cwd, encoding: "utf8" });

function repoWithBranch(plant: (dir: string) => void): string {
  const dir = mkdtempSync(path.join(tmpdir(), "tollgate-hidden-"));
  git(dir, "init", "-q", "-b", "main");
  mkdirSync(path.join(dir, "test"));
  writeFileSync(path.join(dir, "lib.js"), "export const f = () => 2;\n");
  writeFileSync(path.join(dir, "package.json"), '{ "name": "x", "type": "module" }\n');
  git(dir, "add", "-A");
  git(dir, "commit", "-q", "-m", "base");
  git(dir, "checkout", "-q", "-b", "tollgate/t");
  plant(dir);
  git(dir, "add", "-A");
  git(dir, "commit", "-q", "--allow-empty", "-m", "the agents' work");
  git(dir, "checkout", "-q", "main");
  return dir;
}

describe("the eval's hidden check", () => {
  const log = captureLog().log;
  const suiteDir = mkdtempSync(path.join(tmpdir(), "tollgate-hidden-suite-"));
  writeFileSync(
    path.join(suiteDir, "suite.yml"),
    "name: x\ntasks:\n  - id: t\n    issue: { title: t }\n    repository: { dir: repo }\n    hidden: { paths: [test/hidden/f.test.js], from: hidden, command: [node, --test, test/] }\n",
  );
  const task = loadSuite(suiteDir).tasks[0]!;
  const hidden = new Map([
    [
      "test/hidden/f.test.js",
      Buffer.from(
        'import { test } from "node:test";\nimport assert from "node:assert/strict";\nimport { f } from "../../lib.js";\ntest("f", () => assert.equal(f(), 2));\n',
      ),
    ],
  ]);
  const check = (repo: string) =>
    hiddenCheck({
      repo,
      branch: "tollgate/t",
      baseBranch: "main",
      task,
      hidden,
      config: parseRepoConfig({ setup: { commands: [] } }),
      sandbox: detectSandbox(log),
      dir: mkdtempSync(path.join(tmpdir(), "tollgate-hidden-work-")),
      log,
    });

  it("runs the hidden test on the branch", async () => {
    expect(await check(repoWithBranch(() => undefined))).toMatchObject({ passed: true, detail: "exit 0" });
  });

  it("refuses to write a hidden file through a symlink the branch planted, and the host folder stays empty", async () => {
    const outside = mkdtempSync(path.join(tmpdir(), "tollgate-outside-"));
    const repo = repoWithBranch((dir) => symlinkSync(outside, path.join(dir, "test", "hidden")));
    expect(await check(repo)).toMatchObject({ passed: false, detail: expect.stringContaining("symlink at test/hidden") });
    expect(existsSync(path.join(outside, "f.test.js"))).toBe(false);
  });
});
