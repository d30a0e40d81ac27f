/**
 * The change a run commits is checked file by file, because sandboxed commands wrote the tree:
 * - before host git reads a tree: any `.git` other than the root's (in any case and at any
 *   depth) and any name with a control character are removed (`scrubTree`);
 * - before a commit: every staged change is checked (`checkStaged`), and a symlink that leads
 *   out of the tree or into `.git`, a submodule link, a hard link, a protected path, or a name
 *   git cannot hold safely is reverted to what it was. What was dropped, and why, is returned
 *   for the pull request's body.
 */
import { lstat, readdir, readlink, realpath, rm } from "node:fs/promises";
import path from "node:path";
import picomatch from "picomatch";
import type { SimpleGit } from "simple-git";

/** Paths no run may change, whatever a repository's settings say; `paths.protected` adds to them. */
export const BUILT_IN_PROTECTED = [".github/workflows/**"];

/** Is a path (relative, forward slashes) protected by the built-in globs or the repository's own? */
export function protectedMatcher(globs: string[]): (p: string) => boolean {
  return picomatch([...BUILT_IN_PROTECTED, ...globs], { dot: true, nocase: true });
}

/**
 * Would a symlink at `p` stand in for a folder a protected glob names (`.github` for
 * `.github/workflows/**`)? Such a link could carry protected files past the globs.
 */
function shadowsProtected(p: string, globs: string[]): boolean {
  const lower = p.toLowerCase();
  return [...BUILT_IN_PROTECTED, ...globs].some((glob) => {
    const base = picomatch.scan(glob).base.toLowerCase();
    return base === lower || base.startsWith(`${lower}/`);
  });
}

export interface DroppedChange {
  path: string;
  why: string;
}

/**
 * A control character (newline, tab, NUL, C1 controls) or a bidirectional override: no file name
 * Tollgate commits or edits holds one.
 */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
export const CONTROL = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

/** Characters HFS+ ignores in names (git's is_hfs_dotgit), so `.g\u200cit` is `.git` there. */
const HFS_IGNORED = /[\u200c-\u200f\u202a-\u202e\u206a-\u206f\ufeff]/g;

/**
 * Is this name `.git` on some file system: any case, HFS+'s ignored characters, NTFS's trailing
 * dots and spaces and its short name `GIT~1` (git's own is_ntfs_dotgit and is_hfs_dotgit)?
 */
export function isGitName(name: string): boolean {
  const n = name
    .replace(HFS_IGNORED, "")
    .replace(/[. ]+$/, "")
    .toLowerCase();
  return n === ".git" || /^git~\d+$/.test(n);
}

/** A path made printable for a report (control characters shown as \uXXXX). */
export function printable(p: string): string {
  return p.replace(new RegExp(CONTROL.source, "g"), (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/**
 * Removes every `.git` below the root (a nested repository's config could name programs for
 * host git to run), every entry whose name holds a control character, and every FIFO, socket
 * and device. Symlinks are not followed.
 */
export async function scrubTree(root: string, installed: readonly string[] = []): Promise<DroppedChange[]> {
  const dropped: DroppedChange[] = [];
  const walk = async (dir: string, rel: string) => {
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
    for (const entry of entries) {
      const relPath = rel ? `${rel}/${entry.name}` : entry.name;
      if (!rel && entry.name === ".git") continue; // the workspace's own
      if (installed.includes(relPath)) continue; // setup's installs: never committed, never read by the host
      const why = isGitName(entry.name)
        ? "a .git folder or file inside the tree (only Tollgate's own is allowed)"
        : CONTROL.test(entry.name)
          ? "a file name with a control character"
          : entry.isFIFO() || entry.isSocket() || entry.isBlockDevice() || entry.isCharacterDevice()
            ? "a FIFO, socket or device (reading one can hang a reader)"
            : undefined;
      if (why) {
        await rm(path.join(dir, entry.name), { recursive: true, force: true });
        dropped.push({ path: printable(relPath), why });
      } else if (entry.isDirectory()) await walk(path.join(dir, entry.name), relPath);
    }
  };
  await walk(root, "");
  return dropped;
}

interface StagedEntry {
  oldMode: string;
  newMode: string;
  status: string;
  path: string;
}

/** `git diff --cached --raw -z` entries: ":old new oldsha newsha status\0path\0". */
function parseRaw(raw: string): StagedEntry[] {
  const parts = raw.split("\0");
  const out: StagedEntry[] = [];
  for (let i = 0; i + 1 < parts.length; i += 2) {
    const meta = parts[i]!.replace(/^:/, "").split(" ");
    if (meta.length < 5) break;
    out.push({ oldMode: meta[0]!, newMode: meta[1]!, status: meta[4]!.charAt(0), path: parts[i + 1]! });
  }
  return out;
}

/** Why a staged change may not be committed, or undefined when it may. */
async function refusal(root: string, entry: StagedEntry, guard: Guard): Promise<string | undefined> {
  const parts = entry.path.split("/");
  if (parts.some(isGitName)) return "a path inside .git";
  if (CONTROL.test(entry.path)) return "a file name with a control character";
  if (guard.isProtected(entry.path)) return "a protected path (built in, or paths.protected in .github/tollgate.yml)";
  if (entry.status === "D") return undefined;
  if (entry.newMode === "160000") return "a submodule link (Tollgate does not add submodules)";
  const full = path.join(root, entry.path);
  if (entry.newMode === "120000") {
    const target = await readlink(full).catch(() => undefined);
    if (target === undefined) return "a symlink that cannot be read";
    if (path.isAbsolute(target)) return `a symlink to an absolute path (${printable(target)})`;
    if (shadowsProtected(entry.path, guard.globs)) return `a symlink in place of a protected folder (${printable(target)})`;
    // where the kernel takes it (through every link on the way), not what its text says:
    // `a1 -> a0/..` with `a0 -> .` looks inside and leads out
    const real = await realpath(full).catch(() => undefined);
    if (real === undefined) return `a symlink to nothing, or a loop of links (${printable(target)})`;
    const rel = path.relative(guard.realRoot, real);
    if (rel.startsWith("..") || path.isAbsolute(rel)) return `a symlink that leads outside the repository (${printable(target)})`;
    if (rel.split(path.sep).some(isGitName)) return `a symlink into .git (${printable(target)})`;
    return undefined;
  }
  const info = await lstat(full).catch(() => undefined);
  if (info?.isFile() && info.nlink > 1) return "a hard link (its other name may be outside the tree)";
  return undefined;
}

interface Guard {
  realRoot: string;
  globs: string[];
  isProtected: (p: string) => boolean;
}

/** Removes `rel` under `root`, after making sure no folder on the way is a symlink (which would take the removal elsewhere). */
async function removeInside(root: string, rel: string): Promise<void> {
  const parts = rel.split("/");
  let dir = root;
  for (const part of parts.slice(0, -1)) {
    dir = path.join(dir, part);
    const info = await lstat(dir).catch(() => undefined);
    if (!info) return; // nothing there to remove
    if (!info.isDirectory())
      throw new Error(`${printable(rel)}: ${printable(path.relative(root, dir))} is not a folder, so nothing under it is removed`);
  }
  await rm(path.join(root, rel), { recursive: true, force: true });
}

/**
 * Checks what is staged against `against` (a commit), reverting each change that may not be
 * committed: a file that existed there is restored, a new one is removed. Symlinks are judged
 * first, so a folder replaced by one is a folder again before anything under it is restored.
 */
export async function checkStaged(git: SimpleGit, root: string, against: string, protectedGlobs: string[]): Promise<DroppedChange[]> {
  const guard: Guard = { realRoot: await realpath(root), globs: protectedGlobs, isProtected: protectedMatcher(protectedGlobs) };
  const entries = parseRaw(await git.raw(["diff", "--cached", "--raw", "-z", "--no-renames", "--no-ext-diff", against]));
  entries.sort((a, b) => Number(b.newMode === "120000") - Number(a.newMode === "120000"));
  const dropped: DroppedChange[] = [];
  for (const entry of entries) {
    const why = await refusal(root, entry, guard);
    if (!why) continue;
    const spec = `:(literal)${entry.path}`;
    if (/^0+$/.test(entry.oldMode)) {
      await git.raw(["rm", "-r", "-q", "--cached", "--ignore-unmatch", "--", spec]);
      await removeInside(root, entry.path);
    } else {
      // git restores the file, replacing what stands in its way; nothing is removed by hand
      if (entry.status !== "D") await removeInside(root, entry.path);
      await git.raw(["checkout", against, "--", spec]);
    }
    dropped.push({ path: printable(entry.path), why });
  }
  return dropped;
}
