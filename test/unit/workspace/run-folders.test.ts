import { existsSync, mkdirSync, readFileSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { runRepoDir, sweepRunFolders, withRunFolder } from "../../../src/workspace/run-folders.js";
import { RunStore } from "../../../src/stores/runs.js";
import { freshDatabase } from "../../helpers/db.js";
import { insertRun } from "../../helpers/llm.js";
import { captureLog } from "../../helpers/log.js";

describe("run folders", () => {
  const root = () => mkdtempSync(path.join(tmpdir(), "tollgate-runs-"));

  it("gives a run a fresh folder and removes it when the run finishes", async () => {
    const dir = root();
    mkdirSync(path.join(dir, "run-1", "repo"), { recursive: true });
    writeFileSync(path.join(dir, "run-1", "repo", "stale.txt"), "from a crashed attempt");
    const seen = await withRunFolder(dir, "run-1", "a1", async (repo) => {
      expect(existsSync(path.join(repo, "stale.txt"))).toBe(false); // a resumed run starts clean
      mkdirSync(repo, { recursive: true });
      writeFileSync(path.join(repo, "work.txt"), "x");
      return repo;
    });
    expect(seen).toBe(runRepoDir(dir, "run-1", "a1"));
    expect(existsSync(path.join(dir, "run-1"))).toBe(false);
  });

  it("keeps a taken-over attempt's clean-up away from the attempt that replaced it", async () => {
    const dir = root();
    let releaseOld!: () => void;
    const oldHolds = new Promise<void>((resolve) => (releaseOld = resolve));
    let oldWorks!: () => void;
    const oldWorking = new Promise<void>((resolve) => (oldWorks = resolve));
    const old = withRunFolder(dir, "run-3", "stalled", async (repo) => {
      mkdirSync(repo, { recursive: true });
      oldWorks();
      await oldHolds; // stalled past its heartbeat
    });
    await oldWorking; // the stalled attempt has its folder (a fixed wait may not be enough on a busy machine)
    await withRunFolder(dir, "run-3", "new", async (repo) => {
      mkdirSync(repo, { recursive: true });
      writeFileSync(path.join(repo, "work.txt"), "the new attempt's tree");
      releaseOld();
      await old; // the stalled attempt ends and cleans up while the new one works
      expect(readFileSync(path.join(repo, "work.txt"), "utf8")).toBe("the new attempt's tree");
    });
    expect(existsSync(path.join(dir, "run-3"))).toBe(false);
  });

  it("removes the folder when the run fails, and the failure goes on", async () => {
    const dir = root();
    const error = await withRunFolder(dir, "run-2", "a1", async (repo) => {
      mkdirSync(repo, { recursive: true });
      throw new Error("the agent crashed");
    }).catch((e: Error) => e);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toBe("the agent crashed");
    expect(existsSync(path.join(dir, "run-2"))).toBe(false);
  });

  it("sweeps folders of runs that are not active at start-up, and keeps active ones", async () => {
    const db = await freshDatabase("pglite");
    const log = captureLog();
    try {
      const active = await insertRun(db, { issue: 1 });
      const ended = await insertRun(db, { issue: 2 });
      await db.query("UPDATE runs SET status = 'failed' WHERE id = $1", [ended]);
      const dir = root();
      for (const name of [active, ended, "not-a-run"]) mkdirSync(path.join(dir, name, "repo"), { recursive: true });
      expect((await sweepRunFolders(dir, new RunStore(db), log.log)).sort()).toEqual([ended, "not-a-run"].sort());
      expect(existsSync(path.join(dir, active))).toBe(true);
      expect(log.lines().some((l) => /removed 2 run folder/.test(String(l.msg)))).toBe(true);
    } finally {
      await db.close();
    }
  });
});
