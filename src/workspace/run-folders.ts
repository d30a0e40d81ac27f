/**
 * Where runs keep their checkouts: `<data dir>/runs/<run id>/<attempt>/{repo,worktrees}`, one
 * folder per attempt (the lease of the worker carrying the run out), so that a worker that took a
 * run over never shares a tree with the stalled one it replaced. A run's folder is removed when
 * the run finishes or fails (`withRunFolder`), and folders left by a crash are removed at
 * start-up (`sweepRunFolders`), except those of runs still queued or running, which the job that
 * resumes them replaces.
 */
import { rm, rmdir } from "node:fs/promises";
import path from "node:path";
import type { Logger } from "pino";
import type { RunStore } from "../stores/runs.js";
import { removeOrphans } from "./workspace.js";

export function runsRoot(dataDir: string): string {
  return path.join(dataDir, "runs");
}

/** The folder an attempt of a run clones into (its parent holds the worktrees too). */
export function runRepoDir(root: string, runId: string, attempt: string): string {
  return path.join(root, runId, attempt, "repo");
}

/**
 * Runs `fn` with a clean folder for this attempt of the run (earlier attempts' folders go: a
 * resumed run starts from a fresh clone), and removes it afterwards, whatever happens.
 */
export async function withRunFolder<T>(root: string, runId: string, attempt: string, fn: (repoDir: string) => Promise<T>): Promise<T> {
  const run = path.join(root, runId);
  await rm(run, { recursive: true, force: true });
  try {
    return await fn(runRepoDir(root, runId, attempt));
  } finally {
    await rm(path.join(run, attempt), { recursive: true, force: true });
    await rmdir(run).catch(() => undefined); // another attempt may be working in it
  }
}

export async function sweepRunFolders(root: string, runs: Pick<RunStore, "activeIds">, log: Logger): Promise<string[]> {
  const removed = await removeOrphans(root, new Set(await runs.activeIds()));
  if (removed.length) log.info({ removed }, `removed ${removed.length} run folder(s) left by an earlier process`);
  return removed;
}
