/**
 * Where an agent (and the repo map) may read and write, enforced in code whatever the model
 * asks: inside the workspace only (resolved with realpath, so a symlink cannot lead out), never
 * in `.git` (in any case), no names with control characters, never writing through a hard link
 * (its other name may be anywhere), and never writing a protected path: the built-in ones
 * (`.github/workflows/**`) and the repository's `paths.protected`, which add to them.
 */
import { lstat, realpath } from "node:fs/promises";
import path from "node:path";
import { CONTROL, isGitName, protectedMatcher } from "../../workspace/tree-guard.js";
import { FinalError } from "../../errors.js";

export class PathRefused extends FinalError {
  override name = "PathRefused";
}

export interface ResolvedPath {
  /** Absolute, real path. */
  abs: string;
  /** Relative to the workspace root, with forward slashes. */
  rel: string;
}

export class PathPolicy {
  readonly #isProtected: (rel: string) => boolean;

  private constructor(
    readonly root: string,
    protectedGlobs: string[],
  ) {
    this.#isProtected = protectedMatcher(protectedGlobs);
  }

  /** `root` is resolved to its real path once. */
  static async create(root: string, protectedGlobs: string[]): Promise<PathPolicy> {
    return new PathPolicy(await realpath(root), protectedGlobs);
  }

  async resolve(requested: string, mode: "read" | "write"): Promise<ResolvedPath> {
    if (typeof requested !== "string" || requested.trim() === "") throw new PathRefused("a path is required");
    if (CONTROL.test(requested)) throw new PathRefused("the path contains a control character (a newline, a tab, NUL, …)");
    if (path.isAbsolute(requested)) {
      throw new PathRefused(`absolute paths are not allowed (${requested}): use a path relative to the repository root`);
    }
    const lexical = path.resolve(this.root, requested);
    const lexicalRel = path.relative(this.root, lexical);
    if (lexicalRel.startsWith("..") || path.isAbsolute(lexicalRel)) throw new PathRefused(`${requested} is outside the repository`);
    // The real path of what exists: a symlink anywhere on the way is followed, then checked.
    const real = await realOfExisting(lexical);
    const rel = path.relative(this.root, real);
    if (rel.startsWith("..") || path.isAbsolute(rel))
      throw new PathRefused(`${requested} leads outside the repository (through a symlink)`);
    const posix = rel.split(path.sep).join("/");
    if ([...lexicalRel.split(path.sep), ...posix.split("/")].some(isGitName)) {
      throw new PathRefused(`${requested} is inside .git, which agents may not touch`);
    }
    if (mode === "write" && this.#isProtected(posix)) {
      throw new PathRefused(`${posix} is a protected path (built in, or paths.protected in .github/tollgate.yml)`);
    }
    const info = await lstat(real).catch(() => undefined);
    // a FIFO or a device would block the reader (and, four at a time, the whole process)
    if (info && !info.isFile() && !info.isDirectory())
      throw new PathRefused(`${posix} is not a regular file or folder (a FIFO, socket or device)`);
    if (mode === "write" && info?.isFile() && info.nlink > 1) {
      throw new PathRefused(`${posix} is a hard link to another file (which may be outside the repository): it cannot be edited`);
    }
    return { abs: real, rel: posix };
  }
}

/** realpath of the path, or of its nearest existing ancestor joined with the rest. */
async function realOfExisting(target: string): Promise<string> {
  const missing: string[] = [];
  let current = target;
  for (;;) {
    let exists = false;
    try {
      await lstat(current);
      exists = true;
      const real = await realpath(current);
      return missing.length ? path.join(real, ...missing.reverse()) : real;
    } catch (error) {
      // It exists but cannot be resolved: a symlink to nothing, whose target could be anywhere.
      if (exists) throw new PathRefused(`${target} is a symlink to a missing target`);
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
      const parent = path.dirname(current);
      if (parent === current) throw error;
      missing.push(path.basename(current));
      current = parent;
    }
  }
}
