import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { GitError, HumanCommitError, removeOrphans, Workspace } from "../../../src/workspace/workspace.js";
import { bareRepo, git, gitHttpServer, humanCommit } from "../../helpers/git.js";

const identity = { name: "tollgate[bot]", email: "123+tollgate[bot]@users.noreply.github.com" };
const newDir = () => path.join(mkdtempSync(path.join(tmpdir(), "tollgate-run-")), "repo");

describe("workspace on a local bare repository", () => {
  it("clones without old blobs, commits as the app and pushes tollgate/issue-<n>", async () => {
    const bare = bareRepo();
    const ws = await Workspace.clone({ remoteUrl: `file://${bare}`, dir: newDir(), branch: "main", identity });
    expect(git(ws.dir, "config", "remote.origin.partialclonefilter").trim()).toBe("blob:none");
    writeFileSync(path.join(ws.dir, "src/index.ts"), "export const x = 2;\n");
    const sha = await ws.commitAll("Fix #1: bump x");
    expect(sha).toMatch(/^[0-9a-f]{40}$/);
    expect(await ws.commitAll("nothing")).toBeNull();
    await ws.push("tollgate/issue-1");
    expect(git(bare, "log", "-1", "--format=%an <%ae> %s", "tollgate/issue-1").trim()).toBe(
      `${identity.name} <${identity.email}> Fix #1: bump x`,
    );
    // a second push of the app's own branch is fine
    writeFileSync(path.join(ws.dir, "README.md"), "# demo 2\n");
    await ws.commitAll("Fix #1: readme");
    await ws.push("tollgate/issue-1");
    await ws.remove();
    expect(existsSync(ws.dir)).toBe(false);
  });

  it("never pushes over a human's commit on the branch", async () => {
    const bare = bareRepo();
    const ws = await Workspace.clone({ remoteUrl: `file://${bare}`, dir: newDir(), branch: "main", identity });
    writeFileSync(path.join(ws.dir, "a.txt"), "a\n");
    await ws.commitAll("Fix #2");
    await ws.push("tollgate/issue-2");
    humanCommit(bare, "tollgate/issue-2");
    const before = git(bare, "rev-parse", "tollgate/issue-2").trim();
    writeFileSync(path.join(ws.dir, "b.txt"), "b\n");
    await ws.commitAll("Fix #2 again");
    await expect(ws.push("tollgate/issue-2")).rejects.toThrow(
      new HumanCommitError("tollgate/issue-2 has 1 commit(s) by someone else (human@example.com): Tollgate does not push over them"),
    );
    expect(git(bare, "rev-parse", "tollgate/issue-2").trim()).toBe(before);
  });

  it("gives each agent its own worktree", async () => {
    const ws = await Workspace.clone({ remoteUrl: `file://${bareRepo()}`, dir: newDir(), branch: "main", identity });
    const a = await ws.addWorktree("agent-1", "tollgate/unit-1");
    writeFileSync(path.join(a, "unit1.txt"), "1\n");
    await ws.commitAll("unit 1", a);
    expect(existsSync(path.join(ws.dir, "unit1.txt"))).toBe(false);
    expect(git(ws.dir, "log", "-1", "--format=%s", "tollgate/unit-1").trim()).toBe("unit 1");
    await ws.removeWorktree(a);
    expect(existsSync(a)).toBe(false);
  });
});

describe("merging agents' worktrees", () => {
  it("merges independent units, and reports a conflicting one with its files, leaving the tree clean", async () => {
    const ws = await Workspace.clone({ remoteUrl: `file://${bareRepo()}`, dir: newDir(), branch: "main", identity });
    const a = await ws.addWorktree("agent-a", "unit-a");
    const b = await ws.addWorktree("agent-b", "unit-b");
    const c = await ws.addWorktree("agent-c", "unit-c");
    writeFileSync(path.join(a, "src/index.ts"), "export const x = 10;\n");
    writeFileSync(path.join(b, "docs.md"), "docs\n");
    writeFileSync(path.join(c, "src/index.ts"), "export const x = 99;\n");
    await ws.commitAll("unit a", a);
    await ws.commitAll("unit b", b);
    await ws.commitAll("unit c", c);
    expect(await ws.merge("unit-a", "merge unit a")).toMatchObject({ merged: true });
    expect(await ws.merge("unit-b", "merge unit b")).toMatchObject({ merged: true });
    expect(await ws.merge("unit-c", "merge unit c")).toEqual({ merged: false, conflicts: ["src/index.ts"] });
    expect(git(ws.dir, "status", "--porcelain").trim()).toBe("");
    expect(readFileSync(path.join(ws.dir, "src/index.ts"), "utf8")).toBe("export const x = 10;\n");
    expect(existsSync(path.join(ws.dir, "docs.md"))).toBe(true);
  });

  it("removes the folders of runs that no longer exist", async () => {
    const root = mkdtempSync(path.join(tmpdir(), "tollgate-runs-"));
    for (const name of ["run-live", "run-crashed-1", "run-crashed-2"]) writeFileSync(path.join(root, name), "x");
    expect((await removeOrphans(root, new Set(["run-live"]))).sort()).toEqual(["run-crashed-1", "run-crashed-2"]);
    expect(existsSync(path.join(root, "run-live"))).toBe(true);
  });
});

describe("workspace over HTTP with the installation token", () => {
  const token = "ghs_testtoken0000000000000000000000000001";

  it("sends the token only as a header: never in a URL, .git/config or an error", async () => {
    const bare = bareRepo();
    const server = await gitHttpServer(bare, token);
    try {
      const ws = await Workspace.clone({ remoteUrl: server.url, dir: newDir(), branch: "main", identity, token: () => token });
      writeFileSync(path.join(ws.dir, "c.txt"), "c\n");
      await ws.commitAll("Fix #3");
      await ws.push("tollgate/issue-3");
      expect(git(bare, "log", "-1", "--format=%s", "tollgate/issue-3").trim()).toBe("Fix #3");
      const header = `basic ${Buffer.from(`x-access-token:${token}`).toString("base64")}`;
      expect(server.authorizations.length).toBeGreaterThan(3); // clone, lazy blob fetch, ls-remote, push…
      expect(new Set(server.authorizations)).toEqual(new Set([header])); // every request carried it
      expect(server.urls.join(" ")).not.toContain(token);
      expect(readFileSync(path.join(ws.dir, ".git/config"), "utf8")).not.toMatch(
        new RegExp(`${token}|extraheader|${Buffer.from(`x-access-token:${token}`).toString("base64")}`),
      );

      // a wrong token: refused, and the error does not show it
      const wrong = "ghs_wrongtoken000000000000000000000000002";
      const error = await Workspace.clone({ remoteUrl: server.url, dir: newDir(), branch: "main", identity, token: () => wrong }).catch(
        (e) => e,
      );
      expect(error).toBeInstanceOf(GitError);
      expect(error.message).not.toContain(wrong);
      expect(error.message).not.toContain(Buffer.from(`x-access-token:${wrong}`).toString("base64"));
    } finally {
      await server.close();
    }
  });

  it("asks for the token again before each remote command, so a run that outlives its token gets a new one", async () => {
    const bare = bareRepo();
    let current = "ghs_firsttoken00000000000000000000000000001";
    const server = await gitHttpServer(bare, () => current);
    try {
      let asked = 0;
      const source = async () => {
        asked++;
        return current;
      };
      const ws = await Workspace.clone({ remoteUrl: server.url, dir: newDir(), branch: "main", identity, token: source });
      // an hour later: the server takes only the new token, and the workspace asks for it
      current = "ghs_secondtoken0000000000000000000000000002";
      writeFileSync(path.join(ws.dir, "late.txt"), "late\n");
      await ws.commitAll("Late fix #4");
      await ws.push("tollgate/issue-4");
      expect(git(bare, "log", "-1", "--format=%s", "tollgate/issue-4").trim()).toBe("Late fix #4");
      expect(asked).toBe(2); // clone, then push (ls-remote, fetch and push share one)
      expect(server.authorizations.at(-1)).toBe(`basic ${Buffer.from(`x-access-token:${current}`).toString("base64")}`);
    } finally {
      await server.close();
    }
  });
});
