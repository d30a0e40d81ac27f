/**
 * The host side of the boundary: git on the host runs in trees that sandboxed commands wrote,
 * so each test plants what an attacker would (hooks, fsmonitor, a nested repository, symlinks
 * and hard links out, a protected path, odd names) and shows that nothing planted ever runs on
 * the host and nothing refused is committed.
 */
import { execFileSync } from "node:child_process";
import {
  chmodSync,
  existsSync,
  linkSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { runSandboxed } from "../../../src/sandbox/process.js";
import { sandboxFor } from "../../../src/sandbox/sandbox.js";
import { TextEditor } from "../../../src/agents/tools/text-editor.js";
import { PathPolicy } from "../../../src/agents/tools/path-policy.js";
import { buildRepoMap } from "../../../src/context/repo-map.js";
import { hostGit, hostGitOutput } from "../../../src/workspace/host-git.js";
import { Workspace } from "../../../src/workspace/workspace.js";
import { bareRepo, git, gitHttpServer } from "../../helpers/git.js";

const identity = { name: "tollgate[bot]", email: "tollgate[bot]@users.noreply.github.com" };
const newDir = () => path.join(mkdtempSync(path.join(tmpdir(), "tollgate-run-")), "repo");

/** A folder outside every tree, where a planted program would leave its mark if it ran. */
function markers() {
  const dir = mkdtempSync(path.join(tmpdir(), "tollgate-marks-"));
  const script = (name: string) => {
    const file = path.join(dir, `${name}.sh`);
    writeFileSync(file, `#!/bin/sh\nenv > "${dir}/RAN-${name}"\n`);
    chmodSync(file, 0o755);
    return file;
  };
  return { dir, script, ran: () => readdirSync(dir).filter((f) => f.startsWith("RAN-")) };
}

/** Plants every hook, straight into the clone's `.git` (as if a command had reached it). */
function plantHooks(gitDir: string, script: (name: string) => string) {
  mkdirSync(path.join(gitDir, "hooks"), { recursive: true });
  for (const hook of [
    "pre-commit",
    "prepare-commit-msg",
    "commit-msg",
    "post-commit",
    "pre-push",
    "post-merge",
    "post-checkout",
    "reference-transaction",
    "post-rewrite",
    "pre-auto-gc",
  ]) {
    writeFileSync(path.join(gitDir, "hooks", hook), `#!/bin/sh\nexec ${script(`hook-${hook}`)}\n`);
    chmodSync(path.join(gitDir, "hooks", hook), 0o755);
  }
}

/** Plants every setting that names a program into the clone's `.git/config`. */
function plantConfig(gitDir: string, script: (name: string) => string) {
  const set = (key: string, value: string) => execFileSync("git", ["config", "--file", path.join(gitDir, "config"), key, value]);
  set("core.fsmonitor", script("fsmonitor"));
  set("diff.external", script("diff-external"));
  set("core.pager", script("pager"));
  set("core.sshCommand", script("ssh"));
  set("credential.helper", `!${script("credential")}`);
  set("filter.evil.clean", script("filter-clean"));
  set("filter.evil.smudge", script("filter-smudge"));
  set("diff.evil.textconv", script("textconv"));
  set("merge.evil.driver", script("merge-driver"));
}

describe("host git never runs what a tree or its .git names", () => {
  it("commits, diffs, merges and pushes with every hook planted and a .gitattributes naming drivers: none runs", async () => {
    const mark = markers();
    const server = await gitHttpServer(bareRepo(), "ghs_hostboundarytoken000000000000000001");
    const ws = await Workspace.clone({
      remoteUrl: server.url,
      dir: newDir(),
      branch: "main",
      identity,
      token: () => "ghs_hostboundarytoken000000000000000001",
    });
    plantHooks(path.join(ws.dir, ".git"), mark.script);
    writeFileSync(path.join(ws.dir, ".gitattributes"), "* filter=evil diff=evil merge=evil\n");
    writeFileSync(path.join(ws.dir, "src/index.ts"), "export const x = 2;\n");

    const wt = await ws.addWorktree("u1", "tollgate/work/1/u1");
    writeFileSync(path.join(wt, "unit.txt"), "unit\n");
    await ws.commitAll("unit", wt);
    await ws.removeWorktree(wt);
    await ws.commitAll("main change");
    await ws.merge("tollgate/work/1/u1", "Merge u1");
    const base = git(ws.dir, "rev-list", "--max-parents=0", "HEAD").trim();
    expect(await ws.diff(base)).toContain("export const x = 2;");
    await ws.squash(base, "The change (#1)");
    await ws.push("tollgate/issue-1");
    await ws.fetchBranch("tollgate/issue-1");
    await ws.resetTree();
    await server.close();

    expect(mark.ran()).toEqual([]);
    // the token never reached the config, and the push did carry it
    expect(readFileSync(path.join(ws.dir, ".git/config"), "utf8")).not.toContain("ghs_hostboundary");
    expect(server.authorizations.some((a) => a.startsWith("Basic ") || a.startsWith("basic "))).toBe(true);
  });

  it("a .git/config that names programs: git run directly starts none of them, and the workspace refuses to run git on it", async () => {
    const mark = markers();
    const ws = await Workspace.clone({ remoteUrl: `file://${bareRepo()}`, dir: newDir(), branch: "main", identity });
    plantConfig(path.join(ws.dir, ".git"), mark.script);
    writeFileSync(path.join(ws.dir, ".gitattributes"), "* filter=evil diff=evil merge=evil\n");
    writeFileSync(path.join(ws.dir, "src/index.ts"), "export const x = 3;\n");
    const raw = hostGit(ws.dir);
    await raw.raw(["add", "-A"]);
    await raw.raw(["status"]);
    await raw.raw(["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "x"]);
    await expect(raw.raw(["diff", "HEAD~1", "HEAD"])).rejects.toThrow(/external diff died/); // the planted driver is replaced by /bin/false
    expect(await raw.raw(["diff", "--no-ext-diff", "HEAD~1", "HEAD"])).toContain("export const x = 3;"); // no filter or textconv touched it
    await raw.raw(["log", "-p", "-1"]);
    expect(mark.ran()).toEqual([]);
    await expect(ws.commitAll("more")).rejects.toThrow(
      "the workspace's .git/config was changed from outside Tollgate (core.fsmonitor, core.pager, core.sshcommand, diff.external, credential.helper, filter.evil.clean, filter.evil.smudge, diff.evil.textconv, merge.evil.driver): no git command runs on it",
    );
  });

  it("a repository whose test script plants hooks and an fsmonitor: the sandbox cannot write them, and the commit and push run nothing", async () => {
    const mark = markers();
    const bare = bareRepo();
    const ws = await Workspace.clone({ remoteUrl: `file://${bare}`, dir: newDir(), branch: "main", identity });
    const plant = [
      `mkdir -p .git/hooks && printf '#!/bin/sh\\nexec ${mark.script("planted-post-commit")}\\n' > .git/hooks/post-commit && chmod +x .git/hooks/post-commit`,
      `git config core.fsmonitor ${mark.script("planted-fsmonitor")}`,
      `mkdir -p sub && git -C sub init -q && git -C sub config core.fsmonitor ${mark.script("nested-fsmonitor")}`,
      "mkdir -p .GIT && echo x > .GIT/config",
      "echo changed > README.md",
    ];
    const results = [];
    for (const script of plant)
      results.push(
        await runSandboxed({
          argv: ["sh", "-c", script],
          cwd: ws.dir,
          readOnly: ws.readOnlyPaths(),
          sandbox: sandboxFor("bwrap"),
          timeoutMs: 10_000,
        }),
      );
    expect(results.map((r) => r.exitCode === 0)).toEqual([false, false, true, true, true]);

    const sha = await ws.commitAll("after the tests");
    await ws.push("tollgate/issue-2");
    expect(mark.ran()).toEqual([]);
    // the nested repository and the .GIT folder were removed before git looked, and said so
    expect(ws.dropped.map((d) => d.path).sort()).toEqual([".GIT", "sub/.git"]);
    expect(git(bare, "show", "--name-only", "--format=", sha!).trim().split("\n")).toEqual(["README.md"]);
  });

  it("local clones never share objects with the source repository (tollgate run)", async () => {
    const source = path.join(mkdtempSync(path.join(tmpdir(), "tollgate-user-")), "mine");
    execFileSync("git", ["clone", "-q", bareRepo(), source]);
    const ws = await Workspace.clone({ remoteUrl: source, dir: newDir(), branch: "main", identity });
    const objects = (dir: string): string[] =>
      readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
        e.isDirectory() ? objects(path.join(dir, e.name)) : [path.join(dir, e.name)],
      );
    const sourceInodes = new Set(objects(path.join(source, ".git/objects")).map((f) => statSync(f).ino));
    const cloned = objects(path.join(ws.dir, ".git/objects"));
    expect(cloned.length).toBeGreaterThan(0);
    expect(cloned.filter((f) => sourceInodes.has(statSync(f).ino))).toEqual([]);
    expect(cloned.every((f) => statSync(f).nlink === 1)).toBe(true);
  });

  it("a read-only git command with a pattern that never ends is stopped", async () => {
    const dir = bareRepo();
    await expect(hostGitOutput(dir, ["cat-file", "--batch"], { timeoutMs: 300 })).rejects.toMatchObject({ killed: true });
  });
});

describe("every commit is checked file by file", () => {
  it("reverts a symlink out, a hard link, a protected path, a workflow and a control-character name, and says why", async () => {
    const bare = bareRepo();
    const ws = await Workspace.clone({
      remoteUrl: `file://${bare}`,
      dir: newDir(),
      branch: "main",
      identity,
      protectedPaths: ["secrets/**"],
    });
    const secret = path.join(mkdtempSync(path.join(tmpdir(), "tollgate-host-")), ".env");
    writeFileSync(secret, "ANTHROPIC_API_KEY=sk-ant-api03-hostsecret\n");
    const script = [
      `ln -s ${secret} leak-absolute.txt`,
      "ln -s ../../../../../../../../../../etc/passwd leak-relative.txt",
      "ln -s .git/config leak-gitconfig",
      "ln -s src/index.ts ok-link.ts",
      "echo data > original.txt && ln original.txt hardlink.txt",
      "mkdir -p .github/workflows && echo 'on: push' > .github/workflows/evil.yml",
      "mkdir -p secrets && echo k > secrets/key",
      "printf 'x' > \"$(printf 'bad\\nname.txt')\"",
      "echo fine > fine.txt",
    ].join(" && ");
    const result = await runSandboxed({
      argv: ["sh", "-c", script],
      cwd: ws.dir,
      readOnly: ws.readOnlyPaths(),
      sandbox: sandboxFor("bwrap"),
      timeoutMs: 10_000,
    });
    expect(result.exitCode).toBe(0);

    const sha = await ws.commitAll("the agent's work");
    const committed = git(ws.dir, "show", "--name-only", "--format=", sha!).trim().split("\n").sort();
    // once the hard link is gone, its other name is an ordinary file of the tree
    expect(committed).toEqual(["fine.txt", "ok-link.ts", "original.txt"]);
    const why = Object.fromEntries(ws.dropped.map((d) => [d.path, d.why]));
    expect(why).toEqual({
      "bad\\u000aname.txt": "a file name with a control character",
      "leak-absolute.txt": expect.stringMatching(/^a symlink to an absolute path/),
      "leak-relative.txt": expect.stringMatching(/^a symlink that leads outside the repository/),
      "leak-gitconfig": "a symlink into .git (.git/config)",
      "hardlink.txt": "a hard link (its other name may be outside the tree)",
      ".github/workflows/evil.yml": expect.stringMatching(/^a protected path/),
      "secrets/key": expect.stringMatching(/^a protected path/),
    });
    expect(existsSync(path.join(ws.dir, ".github/workflows/evil.yml"))).toBe(false);
  });

  it("judges a symlink by where the kernel takes it, and never removes through one: a chain of links out, a protected folder replaced by a link", async () => {
    const bare = bareRepo();
    const ws = await Workspace.clone({ remoteUrl: `file://${bare}`, dir: newDir(), branch: "main", identity });
    mkdirSync(path.join(ws.dir, ".github/workflows"), { recursive: true });
    writeFileSync(path.join(ws.dir, ".github/workflows/ci.yml"), "on: push\n");
    git(ws.dir, "add", "-A");
    git(ws.dir, "-c", "user.name=x", "-c", "user.email=x@x", "commit", "-q", "-m", "the base has a workflow");
    const victim = mkdtempSync(path.join(tmpdir(), "tollgate-victim-"));
    mkdirSync(path.join(victim, "workflows"));
    writeFileSync(path.join(victim, "workflows/ci.yml"), "a host file\n");
    const up = "a30".concat(victim); // a30 is 30 levels up, whatever its text says
    const script = `ln -s . a0; i=0; while [ $i -lt 30 ]; do n=$((i+1)); ln -s a$i/.. a$n; i=$n; done; ln -s a30/etc/passwd leak; rm -rf .github && ln -s "${up}" .github; ln -s src/index.ts fine-link.ts`;
    const wt = await ws.addWorktree("u1", "tollgate/work/1/u1");
    const result = await runSandboxed({
      argv: ["sh", "-c", script],
      cwd: wt,
      readOnly: ws.readOnlyPaths(wt),
      sandbox: sandboxFor("bwrap"),
      timeoutMs: 10_000,
    });
    expect(result.exitCode).toBe(0);
    const sha = await ws.commitAll("unit", wt);
    expect(readFileSync(path.join(victim, "workflows/ci.yml"), "utf8")).toBe("a host file\n");
    expect(git(wt, "show", "--name-only", "--format=", sha!).trim().split("\n")).toEqual(["a0", "fine-link.ts"]); // a0 -> . stays inside
    expect(readFileSync(path.join(wt, ".github/workflows/ci.yml"), "utf8")).toBe("on: push\n"); // a folder again
    const why = Object.fromEntries(ws.dropped.map((d) => [d.path, d.why]));
    expect(why.a1).toMatch(/^a symlink that leads outside the repository \(a0\/\.\.\)/);
    expect(why.leak).toMatch(/^a symlink (that leads outside the repository|to nothing)/);
    expect(why[".github"]).toMatch(/^a symlink in place of a protected folder/);
  });

  it("a symlink cannot stand in for a protected folder the base does not have", async () => {
    const ws = await Workspace.clone({ remoteUrl: `file://${bareRepo()}`, dir: newDir(), branch: "main", identity });
    const result = await runSandboxed({
      argv: ["sh", "-c", "mkdir -p evil/workflows && echo 'on: push' > evil/workflows/pwn.yml && ln -s evil .github"],
      cwd: ws.dir,
      readOnly: ws.readOnlyPaths(),
      sandbox: sandboxFor("bwrap"),
      timeoutMs: 10_000,
    });
    expect(result.exitCode).toBe(0);
    await ws.commitAll("x");
    expect(ws.dropped).toEqual([{ path: ".github", why: "a symlink in place of a protected folder (evil)" }]);
  });

  it("removes names that are .git on other file systems, FIFOs, and C1 or bidirectional controls before git looks", async () => {
    const ws = await Workspace.clone({ remoteUrl: `file://${bareRepo()}`, dir: newDir(), branch: "main", identity });
    const script =
      "mkdir -p \"$(printf '.g\\342\\200\\214it')\" GIT~1 '.git ' .git. && for d in GIT~1 '.git ' .git.; do echo x > \"$d/config\"; done; mkfifo pipe.py; echo y > \"$(printf 'a\\342\\200\\256b.txt')\"; echo fine > fine.txt";
    const result = await runSandboxed({
      argv: ["sh", "-c", script],
      cwd: ws.dir,
      readOnly: ws.readOnlyPaths(),
      sandbox: sandboxFor("bwrap"),
      timeoutMs: 10_000,
    });
    expect(result).toMatchObject({ exitCode: 0 });
    const sha = await ws.commitAll("x");
    expect(git(ws.dir, "show", "--name-only", "--format=", sha!).trim()).toBe("fine.txt");
    expect(ws.dropped.map((d) => d.path).sort()).toEqual([".git ", ".git.", ".g\u200cit", "GIT~1", "a\\u202eb.txt", "pipe.py"].sort());
  });

  it("checks the whole change again at publish, against the base: a workflow changed in an earlier commit is reverted", async () => {
    const bare = bareRepo();
    const ws = await Workspace.clone({ remoteUrl: `file://${bare}`, dir: newDir(), branch: "main", identity });
    const base = await ws.head();
    // a commit made without the check (as a resumed run's restored patch could be)
    mkdirSync(path.join(ws.dir, ".github/workflows"), { recursive: true });
    writeFileSync(path.join(ws.dir, ".github/workflows/ci.yml"), "on: push\n");
    writeFileSync(path.join(ws.dir, "README.md"), "# changed\n");
    git(ws.dir, "add", "-A");
    git(ws.dir, "-c", "user.name=x", "-c", "user.email=x@x", "commit", "-q", "-m", "unchecked");
    const sha = await ws.squash(base, "The change (#3)");
    expect(git(ws.dir, "show", "--name-only", "--format=", sha!).trim()).toBe("README.md");
    expect(ws.dropped).toEqual([{ path: ".github/workflows/ci.yml", why: expect.stringMatching(/^a protected path/) }]);
  });
});

describe("one path policy for every reader and writer", () => {
  it("the repo map does not read through a symlink that leads outside", async () => {
    const root = mkdtempSync(path.join(tmpdir(), "tollgate-map-"));
    const outside = path.join(mkdtempSync(path.join(tmpdir(), "tollgate-host-")), "secrets.py");
    writeFileSync(outside, "WEBHOOK_SECRET = 'whsec_FAKE_0123456789'\ndef leaked(): pass\n");
    execFileSync("git", ["init", "-q", "-b", "main", root]);
    symlinkSync(outside, path.join(root, "settings.py"));
    writeFileSync(path.join(root, "app.py"), "def settings_loader():\n    pass\n");
    git(root, "add", "-A");
    const map = await buildRepoMap({ dir: root, task: "settings.py: read the settings in settings.py" });
    expect(map.files).toContain("settings.py");
    expect(map.text).not.toMatch(/WEBHOOK_SECRET|whsec_|leaked/);
  });

  it("the editor refuses to write through a hard link, into .GIT in any case, or to a name with a newline", async () => {
    const root = mkdtempSync(path.join(tmpdir(), "tollgate-policy-"));
    execFileSync("git", ["init", "-q", root]);
    writeFileSync(path.join(root, "a.txt"), "a\n");
    linkSync(path.join(root, ".git/config"), path.join(root, "config-link"));
    const editor = new TextEditor(await PathPolicy.create(root, []));
    const replace = await editor.run({
      command: "str_replace",
      path: "config-link",
      old_str: "[core]",
      new_str: "[core]\n\tfsmonitor = evil",
    });
    expect(replace).toEqual({ isError: true, content: expect.stringContaining("is a hard link") });
    expect(readFileSync(path.join(root, ".git/config"), "utf8")).not.toContain("fsmonitor");
    expect((await editor.run({ command: "create", path: ".GIT/config", file_text: "x" })).content).toContain("inside .git");
    expect((await editor.run({ command: "create", path: "a\nb.txt", file_text: "x" })).content).toContain("control character");
    expect((await editor.run({ command: "create", path: ".github/workflows/x.yml", file_text: "x" })).content).toContain("protected path");
    // a FIFO would block the reader, and four of them every file operation of the process
    execFileSync("mkfifo", [path.join(root, "f.py")]);
    expect(await editor.run({ command: "view", path: "f.py" })).toEqual({
      isError: true,
      content: "f.py is not a regular file or folder (a FIFO, socket or device)",
    });
  });

  it("list_files answers a pattern that leads out with an error result, not a failed run", async () => {
    const { repoSearchTools } = await import("../../../src/agents/tools/repo-search.js");
    const [list] = repoSearchTools(bareRepo());
    expect(await list!.run({ path: ".", pattern: "../../**" })).toMatchObject({
      isError: true,
      content: expect.stringContaining("is not a pattern inside the repository"),
    });
  });
});
