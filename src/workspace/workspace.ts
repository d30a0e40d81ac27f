/**
 * A run's git workspace (simple-git): a partial clone at the default branch, a worktree per
 * agent, commits with the app's identity, and a push of `tollgate/issue-<n>` that never
 * overwrites a commit that is not the app's own.
 *
 * Sandboxed commands write these trees, so every git command here is hardened (host-git.ts:
 * no hooks, fsmonitor, drivers or filters, no app secret in its environment), the sandbox sees
 * `.git` read-only (`readOnlyPaths`), and every commit is checked file by file first
 * (tree-guard.ts); what was dropped is kept in `dropped` for the pull request.
 */
import { readFileSync } from "node:fs";
import { lstat, mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import type { SimpleGit } from "simple-git";
import { redactToken } from "./git-auth.js";
import { hostGit, tokenEnv, unsafeConfigKeys } from "./host-git.js";
import { checkStaged, CONTROL, protectedMatcher, scrubTree, type DroppedChange } from "./tree-guard.js";
import { FinalError } from "../errors.js";
import { reviewDiff, type ReviewDiff } from "./review-diff.js";

export interface Identity {
  name: string;
  email: string;
  /** Emails the app's commits had before (an older identity): commits by them are still its own. */
  formerEmails?: readonly string[];
}

export class HumanCommitError extends FinalError {
  override name = "HumanCommitError";
  constructor(
    message: string,
    /** Whose commits they are (author emails). */
    readonly authors: string[] = [],
  ) {
    super(message);
  }
}

export class GitError extends FinalError {
  override name = "GitError";
}

/**
 * Where git gets the installation token, asked again before every command that talks to the
 * remote: installation tokens last an hour, so a long run must not hold on to the first one.
 * (Octokit's app auth caches the token and mints a new one before it expires.)
 */
export type TokenSource = () => Promise<string | undefined> | string | undefined;

export type MergeResult = { merged: true; sha: string } | { merged: false; conflicts: string[] };

export class Workspace {
  /** Changes refused at a commit (a symlink out, a protected path, …), for the pull request. */
  readonly dropped: DroppedChange[] = [];
  readonly #isProtected: (p: string) => boolean;
  readonly #protectedGlobs: string[];
  #installed: string[] = [];

  private constructor(
    readonly dir: string,
    private readonly remoteUrl: string,
    private readonly identity: Identity,
    private readonly token: TokenSource,
    protectedPaths: string[],
  ) {
    this.#isProtected = protectedMatcher(protectedPaths);
    this.#protectedGlobs = protectedPaths;
  }

  /**
   * Clones `remoteUrl` (the payload's `clone_url`; the token is never part of it) into `dir`,
   * with `--filter=blob:none` so history comes without old file contents.
   */
  static async clone(options: {
    remoteUrl: string;
    dir: string;
    branch: string;
    identity: Identity;
    token?: TokenSource;
    protectedPaths?: string[];
  }): Promise<Workspace> {
    const tokenSource = options.token ?? (() => undefined);
    await mkdir(path.dirname(options.dir), { recursive: true });
    const token = await tokenSource();
    await guard(token, () =>
      hostGit(path.dirname(options.dir), tokenEnv(options.remoteUrl, token)).raw([
        "clone",
        "--no-local", // a local source's objects are copied, never hard-linked: a command cannot reach the user's repository
        "--no-hardlinks",
        "--filter=blob:none",
        "--branch",
        options.branch,
        "--single-branch",
        options.remoteUrl,
        options.dir,
      ]),
    );
    // attributes in $GIT_DIR/info outrank the tree's .gitattributes: no filter, diff or merge
    // driver a tree names is ever used (the sandbox sees this folder read-only)
    await mkdir(path.join(options.dir, ".git", "info"), { recursive: true });
    await writeFile(path.join(options.dir, ".git", "info", "attributes"), "* !filter !diff !merge\n");
    return new Workspace(options.dir, options.remoteUrl, options.identity, tokenSource, options.protectedPaths ?? []);
  }

  git(dir = this.dir): SimpleGit {
    this.#checkConfig();
    return hostGit(dir);
  }

  /** git with the installation token, for a command that talks to the remote. */
  #remoteGit(token: string | undefined, dir = this.dir): SimpleGit {
    this.#checkConfig();
    return hostGit(dir, tokenEnv(this.remoteUrl, token));
  }

  /**
   * The repository's config holds nothing that names a program (the command line switches all
   * of those off anyway); finding one means something wrote `.git/config`, and git stops here.
   */
  #checkConfig(): void {
    const unsafe = unsafeConfigKeys(readFileSync(path.join(this.dir, ".git", "config"), "utf8"));
    if (unsafe.length)
      throw new GitError(`the workspace's .git/config was changed from outside Tollgate (${unsafe.join(", ")}): no git command runs on it`);
  }

  /**
   * What a command in `dir` may read but not write: the tree's `.git` (a folder, or a worktree's
   * gitfile) and, for a worktree, the repository's git folder it points to.
   */
  readOnlyPaths(dir = this.dir): string[] {
    const own = path.join(dir, ".git");
    return dir === this.dir ? [own] : [own, path.join(this.dir, ".git")];
  }

  /** Is `p` (relative, with forward slashes) a path no run may change? */
  isProtected(p: string): boolean {
    return this.#isProtected(p);
  }

  /**
   * Puts the main checkout back to HEAD after commands ran in it (verify): their leftovers are
   * never committed. What setup installed (`keepInstalled`) stays.
   */
  async resetTree(): Promise<void> {
    this.#drop(await scrubTree(this.dir, this.#installed));
    await guard(undefined, () => this.git().raw(["reset", "--hard", "-q", "HEAD"]));
    // ignored files too: nothing of the checks' is kept, but setup's installs are
    const keep = this.#installed.flatMap((p) => ["-e", `/${escapeGlob(p)}`]);
    await guard(undefined, () => this.git().raw(["clean", "-ffdqx", ...keep]));
  }

  /**
   * After the setup step: what it created in the checkout (node_modules, .venv, …) is kept from
   * now on and never committed (it is listed in `.git/info/exclude`, which the sandbox cannot
   * write, and `resetTree` leaves it); what it changed in tracked files is put back. Returns both.
   */
  async keepInstalled(): Promise<{ installed: string[]; reverted: string[] }> {
    // what setup wrote is scrubbed before any git command reads the tree (a nested .git names
    // filters, a FIFO hangs a reader), as after every command
    this.#drop(await scrubTree(this.dir));
    const status = await guard(undefined, () =>
      this.git().raw(["status", "--porcelain=v1", "-z", "--ignored=matching", "--untracked-files=normal", "--ignore-submodules=all"]),
    );
    const installed: string[] = [];
    const reverted: string[] = [];
    for (const entry of status.split("\0").filter(Boolean)) {
      const code = entry.slice(0, 2);
      const file = entry.slice(3).replace(/\/$/, "");
      if (code !== "??" && code !== "!!") {
        if (!reverted.includes(file)) reverted.push(file);
        continue;
      }
      // a symlink (node_modules -> /) would take its target into every bind of it: it goes
      const info = await lstat(path.join(this.dir, file)).catch(() => undefined);
      if (!info || CONTROL.test(file) || !file || (!info.isDirectory() && !info.isFile())) {
        await rm(path.join(this.dir, file), { recursive: true, force: true });
        this.#drop([
          { path: file.replace(CONTROL, "?"), why: "setup made it, and it is not a plain file or folder (a symlink, a device)" },
        ]);
        continue;
      }
      installed.push(file);
    }
    if (installed.length > MAX_INSTALLED)
      throw new GitError(
        `setup created ${installed.length} entries at the top of the checkout (at most ${MAX_INSTALLED} are kept apart from the change)`,
      );
    if (reverted.length) await guard(undefined, () => this.git().raw(["reset", "--hard", "-q", "HEAD"]));
    this.#installed = installed;
    const exclude = path.join(this.dir, ".git", "info", "exclude");
    const before = await readFile(exclude, "utf8").catch(() => "");
    await writeFile(
      exclude,
      `${before}${before && !before.endsWith("\n") ? "\n" : ""}${installed.map((p) => `/${escapeGlob(p)}\n`).join("")}`,
    );
    return { installed, reverted };
  }

  /** What setup installed in the checkout (relative paths). */
  get installed(): readonly string[] {
    return this.#installed;
  }

  #drop(changes: DroppedChange[]): void {
    for (const change of changes) if (!this.dropped.some((d) => d.path === change.path && d.why === change.why)) this.dropped.push(change);
  }

  /**
   * A worktree for one agent (or setup's fill of the default branch), on a new branch from
   * `from`. File contents the partial clone lacks (another commit's) are fetched then, so the
   * token goes with the command.
   */
  async addWorktree(name: string, branch: string, from = "HEAD"): Promise<string> {
    const dir = path.join(this.dir, "..", "worktrees", name);
    const token = await this.token();
    await guard(token, () => this.#remoteGit(token).raw(["worktree", "add", "-b", branch, dir, from]));
    return dir;
  }

  /**
   * Removes a worktree that sandboxed commands wrote (setup's fill of the default branch): its
   * folder is deleted without git reading it, then git forgets it.
   */
  async discardWorktree(dir: string): Promise<void> {
    await rm(dir, { recursive: true, force: true });
    await guard(undefined, () => this.git().raw(["worktree", "prune"]));
  }

  async removeWorktree(dir: string): Promise<void> {
    await guard(undefined, () => this.git().raw(["worktree", "remove", "--force", dir]));
  }

  /**
   * Commits everything in `dir` as the app, after checking it file by file (what may not be
   * committed is reverted and kept in `dropped`); returns the sha, or null when nothing changed.
   */
  async commitAll(message: string, dir = this.dir): Promise<string | null> {
    const git = this.git(dir);
    this.#drop(await scrubTree(dir, this.#installed));
    await guard(undefined, () => git.raw(["add", "-A"]));
    this.#drop(await guard(undefined, () => checkStaged(git, dir, "HEAD", this.#protectedGlobs)));
    return this.#commitStaged(git, message, "HEAD");
  }

  async #commitStaged(git: SimpleGit, message: string, against: string): Promise<string | null> {
    const staged = await guard(undefined, () => git.raw(["diff", "--cached", "--name-only", "-z", against]));
    if (!staged) return null;
    const identity = ["-c", `user.name=${this.identity.name}`, "-c", `user.email=${this.identity.email}`];
    await guard(undefined, () => git.raw([...identity, "commit", "--no-verify", "-q", "-m", message]));
    return (await git.revparse(["HEAD"])).trim();
  }

  /**
   * Pushes HEAD to `branch`. When the branch exists on the remote, every commit on it that is
   * not in HEAD must be the app's own (by author email): a human's commit stops the push with
   * `HumanCommitError`. The push uses --force-with-lease on the sha just checked.
   */
  async push(branch: string): Promise<void> {
    const token = await this.token();
    const git = this.#remoteGit(token);
    const remote = await guard(token, () => git.raw(["ls-remote", "origin", `refs/heads/${branch}`]));
    const remoteSha = remote.split(/\s/)[0] || "";
    if (remoteSha) {
      await guard(token, () => git.raw(["fetch", "--filter=blob:none", "origin", `refs/heads/${branch}:refs/remotes/origin/${branch}`]));
      const authors = (await git.raw(["log", "--format=%ae", `HEAD..${remoteSha}`])).split("\n").filter(Boolean);
      const human = authors.filter((email) => !this.#own(email));
      if (human.length) {
        const authors = [...new Set(human)];
        throw new HumanCommitError(
          `${branch} has ${human.length} commit(s) by someone else (${authors.join(", ")}): Tollgate does not push over them`,
          authors,
        );
      }
    }
    await guard(token, () =>
      git.raw(["push", "--no-verify", `--force-with-lease=refs/heads/${branch}:${remoteSha}`, "origin", `HEAD:refs/heads/${branch}`]),
    );
  }

  /**
   * Merges an agent's branch into the main checkout. On a conflict the merge is undone and the
   * conflicting files are reported, so the unit can be redone on the merged tree.
   */
  async merge(branch: string, message: string): Promise<MergeResult> {
    const git = this.git();
    const identity = ["-c", `user.name=${this.identity.name}`, "-c", `user.email=${this.identity.email}`];
    // simple-git does not always reject on a conflicted merge (git reports it on stdout), so
    // the index decides: unmerged paths mean a conflict, whatever the command returned.
    const failure = await git.raw([...identity, "merge", "--no-ff", "--no-edit", "-m", message, branch]).then(
      () => undefined,
      (error: Error) => error,
    );
    const conflicts = (await git.raw(["diff", "--name-only", "--diff-filter=U"])).split("\n").filter(Boolean);
    if (conflicts.length) {
      await git.raw(["merge", "--abort"]);
      return { merged: false, conflicts };
    }
    if (failure) throw new GitError(failure.message);
    return { merged: true, sha: (await git.revparse(["HEAD"])).trim() };
  }

  /** Author emails of the commits in `since..until` that are not the app's. */
  async foreignAuthors(since: string, until = "HEAD"): Promise<string[]> {
    const emails = (await this.git().raw(["log", "--format=%ae", `${since}..${until}`])).split("\n").filter(Boolean);
    return [...new Set(emails.filter((e) => !this.#own(e)))];
  }

  /** Whether a commit by `email` is the app's own (its identity, now or before). */
  #own(email: string): boolean {
    return email === this.identity.email || (this.identity.formerEmails ?? []).includes(email);
  }

  /** Fetches `branch` of the remote and returns its sha, or undefined when it does not exist. */
  async fetchBranch(branch: string): Promise<string | undefined> {
    const token = await this.token();
    const remote = await guard(token, () => this.#remoteGit(token).raw(["ls-remote", "origin", `refs/heads/${branch}`]));
    const sha = remote.split(/\s/)[0] || undefined;
    if (sha)
      await guard(token, () =>
        this.#remoteGit(token).raw(["fetch", "--filter=blob:none", "origin", `refs/heads/${branch}:refs/remotes/origin/${branch}`]),
      );
    return sha;
  }

  /** Whether `ancestor` is `descendant` or a commit before it. */
  async isAncestor(ancestor: string, descendant: string): Promise<boolean> {
    // (simple-git resolves an exit code 1 without output, so `--is-ancestor` cannot be read from it)
    try {
      const [a, base] = await Promise.all([
        this.git().revparse(["--verify", `${ancestor}^{commit}`]),
        this.git().raw(["merge-base", ancestor, descendant]),
      ]);
      return a.trim() === base.trim();
    } catch {
      return false; // not a commit this clone has, or no common history
    }
  }

  /** The sha HEAD points at. */
  async head(dir = this.dir): Promise<string> {
    return (await this.git(dir).revparse(["HEAD"])).trim();
  }

  /** Everything HEAD changed since `base`, as a patch git can apply again (binary files included). */
  async diff(base: string): Promise<string> {
    return this.git().raw(["diff", "--binary", "--no-ext-diff", "--no-textconv", base, "HEAD"]);
  }

  /** The change since `base` as a reviewer reads it (review-diff.ts): wide context, no lockfile or binary contents. */
  reviewDiff(base: string, context?: number): Promise<ReviewDiff> {
    return reviewDiff((args) => this.git().raw(args), base, context);
  }

  /** The files HEAD changed since `base`. */
  async changedFiles(base: string): Promise<string[]> {
    return (await this.git().raw(["diff", "--name-only", base, "HEAD"])).split("\n").filter(Boolean);
  }

  /**
   * Moves the checkout to `sha` (a resumed run's base). Missing file contents of the partial
   * clone are fetched then, so the token goes with the command.
   */
  async checkout(sha: string): Promise<void> {
    const token = await this.token();
    await guard(token, () => this.#remoteGit(token).raw(["checkout", "--force", "--detach", sha]));
  }

  /** Applies a patch made by `diff` and commits it as the app (a resumed run's work so far). */
  async applyAndCommit(patch: string, message: string): Promise<string | null> {
    if (!patch.trim()) return null;
    const file = path.join(this.dir, "..", `restore-${Date.now()}.patch`);
    await writeFile(file, patch);
    try {
      await guard(undefined, () => this.git().raw(["apply", "--binary", "--index", file]));
    } finally {
      await rm(file, { force: true });
    }
    return this.commitAll(message);
  }

  /**
   * Folds every commit since `base` into one, with `message` (the agents' merge commits become
   * the PR's one commit naming the issue). Returns the new sha, or null when nothing changed.
   */
  async squash(base: string, message: string): Promise<string | null> {
    const git = this.git();
    await guard(undefined, () => git.raw(["reset", "--soft", base]));
    // the whole change against the base, checked again file by file before it is published
    this.#drop(await guard(undefined, () => checkStaged(git, this.dir, base, this.#protectedGlobs)));
    return this.#commitStaged(git, message, base);
  }

  async remove(): Promise<void> {
    await rm(path.join(this.dir, ".."), { recursive: true, force: true });
  }
}

/** At most this many entries setup made at the top of the checkout are kept apart from the change. */
const MAX_INSTALLED = 1_000;

/** A path as a literal gitignore pattern: its wildcard and escape characters, and trailing spaces, escaped. */
function escapeGlob(p: string): string {
  return p.replace(/[\\*?[\]!#]/g, (c) => `\\${c}`).replace(/ +$/, (spaces) => spaces.replace(/ /g, "\\ "));
}

/** Runs a git command; its error (which may quote the command line) never carries the token. */
async function guard<T>(token: string | undefined, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    throw new GitError(redactToken((error as Error).message, token));
  }
}

/**
 * Removes run folders under `root` that no live run owns (left by a crash), keeping `keep`.
 * Returns the names removed.
 */
export async function removeOrphans(root: string, keep: Set<string>): Promise<string[]> {
  const names = await readdir(root).catch(() => [] as string[]);
  const orphans = names.filter((n) => !keep.has(n));
  await Promise.all(orphans.map((n) => rm(path.join(root, n), { recursive: true, force: true })));
  return orphans;
}
