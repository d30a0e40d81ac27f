/**
 * A task's starting repository, made fresh for each attempt in `into`: a suite folder committed
 * as one commit, or a mirror's commit's parent checked out on a branch. Returns the hidden
 * files (path → content), read where the task says: the mirror's commit, or the suite's folder.
 */
import { execFileSync } from "node:child_process";
import { cpSync, lstatSync, mkdirSync, readFileSync } from "node:fs";
import path from "node:path";
import type { EvalSuite, EvalTask } from "./suite.js";
import { SuiteError } from "./suite.js";

const AUTHOR = ["-c", "user.name=Tollgate eval", "-c", "user.email=eval@tollgate.invalid", "-c", "commit.gpgsign=false"];

function git(cwd: string, ...args: string[]): string {
  return execFileSync("git", args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], maxBuffer: 64 * 1024 * 1024 });
}

export interface TaskRepo {
  /** A work tree on branch `main`. */
  dir: string;
  hidden: Map<string, Buffer>;
}

export function mirrorPath(mirrors: string, name: string): string {
  return path.join(mirrors, name.replace("/", "+"), "repo");
}

export function prepareTaskRepo(suite: EvalSuite, task: EvalTask, into: string, mirrors: string): TaskRepo {
  mkdirSync(into, { recursive: true });
  const hidden = new Map<string, Buffer>();
  if ("dir" in task.repository) {
    cpSync(path.join(suite.dir, task.repository.dir), into, { recursive: true });
    git(into, "init", "-q", "-b", "main");
    git(into, "add", "-A");
    git(into, ...AUTHOR, "commit", "-q", "-m", `task ${task.id}`);
  } else {
    const source = mirrorPath(mirrors, task.repository.mirror);
    try {
      git(source, "rev-parse", "--verify", `${task.repository.commit}^{commit}`);
    } catch {
      throw new SuiteError(
        `task ${task.id}: ${task.repository.mirror} at ${task.repository.commit} is not in ${source} (fetch the repository first)`,
      );
    }
    git(path.dirname(into), "clone", "-q", "--no-local", source, into);
    git(into, "checkout", "-q", "-B", "main", `${task.repository.commit}^`);
    for (const p of task.hidden?.paths ?? []) hidden.set(p, execFileSync("git", ["show", `${task.repository.commit}:${p}`], { cwd: into }));
  }
  if (task.hidden?.from) {
    const root = path.join(suite.dir, task.hidden.from);
    for (const p of task.hidden.paths) {
      const file = path.join(root, p);
      if (!lstatSync(file, { throwIfNoEntry: false })?.isFile()) throw new SuiteError(`task ${task.id}: hidden file ${file} is missing`);
      hidden.set(p, readFileSync(file));
    }
  }
  return { dir: into, hidden };
}
