/**
 * A task's starting repository, made fresh for each attempt in `into`: a suite folder committed
 * as one commit, or a mirror's commit's parent checked out on a branch. Returns the hidden
 * files (path → content), read where the task says: the mirror's commit, or the suite's folder.
 *
 * A suite is data, and suites are easy to share: preparing a task runs nothing from it on the
 * host. The folder is copied entry by entry, never its `.git` (a repository's hooks and config
 * name programs) at any depth; a symlink is copied as a link, never followed, and only when it
 * stays inside the task's folder; and git runs hardened (src/workspace/host-git.ts: no hooks,
 * no programs named by any config, a minimal environment with none of the operator's variables).
 */
import { copyFileSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, realpathSync, symlinkSync } from "node:fs";
import path from "node:path";
import { hostGit, hostGitOutput } from "../workspace/host-git.js";
import { isGitName } from "../workspace/tree-guard.js";
import type { EvalSuite, EvalTask } from "./suite.js";
import { SuiteError } from "./suite.js";

const AUTHOR = ["-c", "user.name=Tollgate eval", "-c", "user.email=eval@tollgate.invalid"];

/** Hardened git (a large task or mirror may take a while to add or clone). */
const git = (cwd: string, ...args: string[]) => hostGitOutput(cwd, args, { timeoutMs: 10 * 60_000 });

export interface TaskRepo {
  /** A work tree on branch `main`. */
  dir: string;
  hidden: Map<string, Buffer>;
}

export function mirrorPath(mirrors: string, name: string): string {
  return path.join(mirrors, name.replace("/", "+"), "repo");
}

export async function prepareTaskRepo(suite: EvalSuite, task: EvalTask, into: string, mirrors: string): Promise<TaskRepo> {
  mkdirSync(into, { recursive: true });
  const hidden = new Map<string, Buffer>();
  if ("dir" in task.repository) {
    const source = insideSuite(suite, task, task.repository.dir);
    copyTaskFolder(task, source, into);
    // no template: the new .git has no hooks folder at all (and hooks are off anyway)
    await git(into, "init", "-q", "--template=", "-b", "main");
    await git(into, "add", "-A");
    await git(into, ...AUTHOR, "commit", "-q", "--no-verify", "-m", `task ${task.id}`);
  } else {
    const source = mirrorPath(mirrors, task.repository.mirror);
    const commit = task.repository.commit;
    let found = "";
    try {
      found = (await git(source, "rev-parse", "--verify", `${commit}^{commit}`)).trim();
    } catch {
      // not there (or no repository at all): said below
    }
    if (!found)
      throw new SuiteError(`task ${task.id}: ${task.repository.mirror} at ${commit} is not in ${source} (fetch the repository first)`);
    await git(path.dirname(into), "clone", "-q", "--no-local", "--template=", source, into);
    await git(into, "checkout", "-q", "-B", "main", `${commit}^`);
    for (const p of task.hidden?.paths ?? []) hidden.set(p, await hostGit(into).binaryCatFile(["blob", `${commit}:${p}`]));
  }
  if (task.hidden?.from) {
    const root = insideSuite(suite, task, task.hidden.from);
    for (const p of task.hidden.paths) {
      const file = path.join(root, p);
      if (linkOnTheWay(root, p) || !lstatSync(file, { throwIfNoEntry: false })?.isFile())
        throw new SuiteError(`task ${task.id}: hidden file ${file} is missing (or reached through a symlink)`);
      hidden.set(p, readFileSync(file));
    }
  }
  return { dir: into, hidden };
}

/** `rel` under the suite's folder, refused when a symlink on the way could take it elsewhere. */
function insideSuite(suite: EvalSuite, task: EvalTask, rel: string): string {
  const link = linkOnTheWay(suite.dir, rel);
  if (link) throw new SuiteError(`task ${task.id}: ${path.join(suite.dir, link)} is a symlink: a task's folders are read only as they are`);
  const dir = path.join(suite.dir, rel);
  if (!lstatSync(dir, { throwIfNoEntry: false })?.isDirectory()) throw new SuiteError(`task ${task.id}: ${dir} is not a folder`);
  return dir;
}

/** The first part of `rel` under `root` that is a symlink, if any. */
function linkOnTheWay(root: string, rel: string): string | undefined {
  const parts = rel.split(/[\\/]/).filter(Boolean);
  for (let i = 1; i <= parts.length; i++) {
    const at = parts.slice(0, i).join("/");
    if (lstatSync(path.join(root, at), { throwIfNoEntry: false })?.isSymbolicLink()) return at;
  }
  return undefined;
}

/**
 * Copies the task's folder into `into`: folders and regular files as they are (modes kept),
 * symlinks as links (never followed), every `.git` left out. A link that leads outside the
 * folder, into a `.git`, or nowhere, and anything that is not a file, folder or link (a FIFO
 * would hang the copy), refuses the task: the suite says what it means, Tollgate does not guess.
 */
function copyTaskFolder(task: EvalTask, source: string, into: string): void {
  const root = realpathSync.native(source);
  const refuse = (rel: string, why: string) =>
    new SuiteError(`task ${task.id}: ${path.join(source, rel)} ${why}: remove it from the suite`);
  const walk = (rel: string) => {
    for (const entry of readdirSync(path.join(source, rel), { withFileTypes: true })) {
      if (isGitName(entry.name)) continue;
      const at = rel ? `${rel}/${entry.name}` : entry.name;
      const from = path.join(source, at);
      const to = path.join(into, at);
      if (entry.isDirectory()) {
        mkdirSync(to);
        walk(at);
      } else if (entry.isFile()) copyFileSync(from, to);
      else if (entry.isSymbolicLink()) {
        const target = readlinkSync(from);
        let resolved: string;
        try {
          resolved = realpathSync.native(from); // the kernel's answer: the JS one reads `link/..` as text
        } catch {
          throw refuse(at, `is a symlink to nothing (${target})`);
        }
        const inside = path.relative(root, resolved);
        if (path.isAbsolute(target) || inside === ".." || inside.startsWith(`..${path.sep}`) || path.isAbsolute(inside))
          throw refuse(at, `is a symlink that leads outside the task's folder (${target})`);
        if (inside.split(path.sep).some(isGitName)) throw refuse(at, `is a symlink into a .git (${target})`);
        symlinkSync(target, to);
      } else throw refuse(at, "is not a file, folder or symlink");
    }
  };
  walk("");
}
