/**
 * An evaluation task's folder is data: preparing it runs nothing from it on the host. Each test
 * plants what a shared suite could carry (a `.git` with hooks and a config naming programs, a
 * nested repository, symlinks out, a FIFO) and shows that nothing ran, nothing of it was copied,
 * and the operator's environment reached nothing.
 */
import { execFileSync } from "node:child_process";
import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readlinkSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { loadSuite, SuiteError } from "../../../src/eval/suite.js";
import { prepareTaskRepo } from "../../../src/eval/task-repo.js";
import { git } from "../../helpers/git.js";

const HOOKS = [
  "pre-commit",
  "prepare-commit-msg",
  "commit-msg",
  "post-commit",
  "post-checkout",
  "reference-transaction",
  "post-index-change",
];

/** A suite with one task on the folder `repo` (greeter-shaped), and a folder where a hook that ran leaves its mark. */
function suite(plant: (repo: string, mark: (name: string) => string) => void = () => {}) {
  const dir = mkdtempSync(path.join(tmpdir(), "tollgate-suite-"));
  const marks = mkdtempSync(path.join(tmpdir(), "tollgate-marks-"));
  writeFileSync(
    path.join(dir, "suite.yml"),
    "name: x\ntasks:\n  - id: t\n    issue: { title: t }\n    repository: { dir: repo }\n    hidden: { paths: [test/hidden.test.js], from: hidden, command: [node, --test] }\n",
  );
  const repo = path.join(dir, "repo");
  mkdirSync(path.join(repo, "src"), { recursive: true });
  writeFileSync(path.join(repo, "src/greet.js"), 'export const greet = (n) => "Hello " + n;\n');
  writeFileSync(path.join(repo, "run.sh"), "#!/bin/sh\necho run\n");
  chmodSync(path.join(repo, "run.sh"), 0o755);
  mkdirSync(path.join(dir, "hidden/test"), { recursive: true });
  writeFileSync(path.join(dir, "hidden/test/hidden.test.js"), "// hidden\n");
  /** A program that, when run, writes the operator's variable into a marker file. */
  const mark = (name: string) => {
    const file = path.join(marks, `${name}.sh`);
    writeFileSync(file, `#!/bin/sh\necho "${name} ran with TOLLGATE_FAKE_KEY=$TOLLGATE_FAKE_KEY" > "${marks}/RAN-${name}"\n`);
    chmodSync(file, 0o755);
    return file;
  };
  plant(repo, mark);
  const loaded = loadSuite(dir);
  return {
    suite: loaded,
    task: loaded.tasks[0]!,
    repo,
    into: path.join(dir, "attempt", "repo"),
    ran: () => readdirSync(marks).filter((f) => f.startsWith("RAN-")),
  };
}

/** A `.git` in `at` with every hook and the settings that name programs, as a shared suite could carry. */
function plantRepository(at: string, mark: (name: string) => string) {
  execFileSync("git", ["init", "-q", "-b", "main", at]);
  for (const hook of HOOKS) {
    writeFileSync(path.join(at, ".git/hooks", hook), `#!/bin/sh\nexec ${mark(`${path.basename(at)}-${hook}`)}\n`);
    chmodSync(path.join(at, ".git/hooks", hook), 0o755);
  }
  const set = (key: string, value: string) => execFileSync("git", ["config", "--file", path.join(at, ".git/config"), key, value]);
  set("core.fsmonitor", mark(`${path.basename(at)}-fsmonitor`));
  set("filter.evil.clean", mark(`${path.basename(at)}-filter`));
  set("user.name", "Planted");
}

const files = (dir: string) => git(dir, "ls-files").trim().split("\n").sort();

describe("preparing an evaluation task", () => {
  let saved: string | undefined;
  beforeAll(() => {
    saved = process.env.TOLLGATE_FAKE_KEY;
    process.env.TOLLGATE_FAKE_KEY = "sk-ant-FAKE-operator-key";
  });
  afterAll(() => {
    if (saved === undefined) delete process.env.TOLLGATE_FAKE_KEY;
    else process.env.TOLLGATE_FAKE_KEY = saved;
  });

  it("a task folder with its own .git whose hooks write a marker and the operator's key: no hook runs, none is copied", async () => {
    const t = suite((repo, mark) => plantRepository(repo, mark));
    const prepared = await prepareTaskRepo(t.suite, t.task, t.into, "/nonexistent");
    expect(t.ran()).toEqual([]);
    expect(existsSync(path.join(prepared.dir, ".git/hooks"))).toBe(false);
    expect(files(prepared.dir)).toEqual(["run.sh", "src/greet.js"]);
  });

  it("a .git at every depth and in every spelling, a config naming programs, a filter: none runs, none is copied", async () => {
    const t = suite((repo, mark) => {
      plantRepository(repo, mark);
      writeFileSync(path.join(repo, ".gitattributes"), "* filter=evil\n");
      mkdirSync(path.join(repo, "vendor/lib"), { recursive: true });
      writeFileSync(path.join(repo, "vendor/lib/index.js"), "export {};\n");
      plantRepository(path.join(repo, "vendor/lib"), mark);
      mkdirSync(path.join(repo, ".GIT"));
      writeFileSync(path.join(repo, ".GIT/config"), "[core]\n\tfsmonitor = /bin/false\n");
    });
    const prepared = await prepareTaskRepo(t.suite, t.task, t.into, "/nonexistent");

    expect(t.ran()).toEqual([]);
    expect(files(prepared.dir)).toEqual([".gitattributes", "run.sh", "src/greet.js", "vendor/lib/index.js"]);
    // the prepared repository is Tollgate's own: no hooks at all, none of the task's settings
    expect(existsSync(path.join(prepared.dir, ".git/hooks"))).toBe(false);
    expect(existsSync(path.join(prepared.dir, "vendor/lib/.git"))).toBe(false);
    expect(existsSync(path.join(prepared.dir, ".GIT"))).toBe(false);
    expect(git(prepared.dir, "config", "--file", ".git/config", "--list")).not.toMatch(/fsmonitor|filter|Planted/);
    expect(git(prepared.dir, "log", "--format=%an <%ae> %s").trim()).toBe("Tollgate eval <eval@tollgate.invalid> task t");
    expect(lstatSync(path.join(prepared.dir, "run.sh")).mode & 0o111).not.toBe(0); // modes are kept
    expect(prepared.hidden.get("test/hidden.test.js")!.toString()).toBe("// hidden\n");
  });

  it("copies a symlink inside the folder as a link, never what it points at", async () => {
    const t = suite((repo) => {
      symlinkSync("greet.js", path.join(repo, "src/alias.js"));
      symlinkSync("src", path.join(repo, "lib"));
    });
    const prepared = await prepareTaskRepo(t.suite, t.task, t.into, "/nonexistent");
    expect(readlinkSync(path.join(prepared.dir, "src/alias.js"))).toBe("greet.js");
    expect(readlinkSync(path.join(prepared.dir, "lib"))).toBe("src");
    expect(git(prepared.dir, "ls-files", "-s", "lib", "src/alias.js")).toMatch(/^120000 .*\tlib\n120000 .*\tsrc\/alias\.js\n$/);
  });

  it.each([
    [
      "a link to a host file",
      (repo: string) => symlinkSync("/etc/passwd", path.join(repo, "passwd")),
      /passwd is a symlink that leads outside/,
    ],
    ["a relative link up and out", (repo: string) => symlinkSync("../../..", path.join(repo, "up")), /up is a symlink that leads outside/],
    [
      "a link that only the kernel sees leave (a link to the folder, then ..)",
      (repo: string) => {
        symlinkSync(".", path.join(repo, "self"));
        symlinkSync("self/..", path.join(repo, "parent"));
      },
      /parent is a symlink that leads outside/,
    ],
    [
      "an absolute link to a file of the folder (it would lead back to the suite)",
      (repo: string) => symlinkSync(path.join(repo, "src/greet.js"), path.join(repo, "abs.js")),
      /abs\.js is a symlink that leads outside/,
    ],
    [
      "a link into a .git",
      (repo: string) => {
        mkdirSync(path.join(repo, "sub/.git"), { recursive: true });
        writeFileSync(path.join(repo, "sub/.git/config"), "[core]\n");
        symlinkSync("sub/.git/config", path.join(repo, "cfg"));
      },
      /cfg is a symlink into a \.git/,
    ],
    ["a link to nothing", (repo: string) => symlinkSync("missing.js", path.join(repo, "gone.js")), /gone\.js is a symlink to nothing/],
    ["a FIFO", (repo: string) => execFileSync("mkfifo", [path.join(repo, "pipe")]), /pipe is not a file, folder or symlink/],
  ])("refuses a task folder with %s, and names it", async (_what, plant, message) => {
    const t = suite((repo) => plant(repo));
    const prepared = prepareTaskRepo(t.suite, t.task, t.into, "/nonexistent");
    await expect(prepared).rejects.toThrow(SuiteError);
    await expect(prepared).rejects.toThrow(message);
  });

  it("refuses a task folder or a hidden folder that is itself a symlink (it could be anywhere on the host)", async () => {
    const elsewhere = mkdtempSync(path.join(tmpdir(), "tollgate-host-"));
    writeFileSync(path.join(elsewhere, "secret.txt"), "host secret\n");
    const linkedRepo = suite();
    execFileSync("rm", ["-rf", linkedRepo.repo]);
    symlinkSync(elsewhere, linkedRepo.repo);
    await expect(prepareTaskRepo(linkedRepo.suite, linkedRepo.task, linkedRepo.into, "/nonexistent")).rejects.toThrow(/repo is a symlink/);
    const linkedHidden = suite();
    const hidden = path.join(linkedHidden.suite.dir, "hidden/test");
    execFileSync("rm", ["-rf", hidden]);
    mkdirSync(path.join(elsewhere, "t"));
    writeFileSync(path.join(elsewhere, "t/hidden.test.js"), "host file\n");
    symlinkSync(path.join(elsewhere, "t"), hidden);
    await expect(prepareTaskRepo(linkedHidden.suite, linkedHidden.task, linkedHidden.into, "/nonexistent")).rejects.toThrow(
      /hidden file .* is missing \(or reached through a symlink\)/,
    );
  });
});
