/**
 * Where runs keep their checkouts: `<data dir>/runs/<run id>/{repo,worktrees}`. A run's folder
 * is removed when the run finishes or fails (`withRunFolder`), and folders left by a crash are
 * removed at start-up (`sweepRunFolders`), except those of runs still queued or running, which
 * their retried job replaces when it resumes.
 */
import { rm } from "node:fs/promises";
import path from "node:path";
import type { Logger } from "pino";
import type { Database } from "../db/database.js";
import { removeOrphans } from "./workspace.js";

export function runsRoot(dataDir: string): string {
  return path.join(dataDir, "runs");
}

/** The folder a run clones into (its parent holds the worktrees too). */
export function runRepoDir(root: string, runId: string): string {
  return path.join(root, runId, "repo");
}

/** Runs `fn` with a clean folder for the run, and removes the folder afterwards, whatever happens. */
export async function withRunFolder<T>(root: string, runId: string, fn: (repoDir: string) => Promise<T>): Promise<T> {
  const base = path.join(root, runId);
  await rm(base, { recursive: true, force: true }); // a resumed run starts from a fresh clone
  try {
    return await fn(runRepoDir(root, runId));
  } finally {
    await rm(base, { recursive: true, force: true });
  }
}

export async function sweepRunFolders(root: string, db: Database, log: Logger): Promise<string[]> {
  const { rows } = await db.query<{ id: string }>("SELECT id FROM runs WHERE status IN ('queued', 'running')");
  const removed = await removeOrphans(root, new Set(rows.map((r) => r.id)));
  if (removed.length) log.info({ removed }, `removed ${removed.length} run folder(s) left by an earlier process`);
  return removed;
}
