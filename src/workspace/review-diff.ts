/**
 * The change as a reviewer (and a fix round) reads it: `git diff --stat`, then the patch with
 * wide context (10 lines by default, so a hunk shows the code around it), in which lockfiles,
 * generated files and binary files are named as "changed, not shown" instead of sent. A
 * regenerated lockfile or a base85 image patch would otherwise eat the token budget and push the
 * real code out of it, and nobody reviews those line by line.
 */

export interface ReviewDiff {
  /** `git diff --stat` of the whole change. */
  stat: string;
  /** The patch of the files that are shown. */
  patch: string;
  /** The files that changed but are not in the patch, and why. */
  summarised: Array<{ path: string; why: "binary" | "lockfile" | "generated"; added?: number; deleted?: number }>;
}

const LOCKFILES = new Set([
  "package-lock.json",
  "npm-shrinkwrap.json",
  "yarn.lock",
  "pnpm-lock.yaml",
  "bun.lockb",
  "bun.lock",
  "Cargo.lock",
  "poetry.lock",
  "Pipfile.lock",
  "uv.lock",
  "Gemfile.lock",
  "composer.lock",
  "go.sum",
  "mix.lock",
  "pubspec.lock",
  "Podfile.lock",
  "flake.lock",
  "packages.lock.json",
  "gradle.lockfile",
]);

const GENERATED = [
  /\.min\.(js|css|mjs)$/,
  /\.(js|css)\.map$/,
  /(^|\/)(node_modules|vendor|dist|__generated__)\//,
  /\.generated\.\w+$/,
  /\.pb\.go$/,
  /_pb2(_grpc)?\.pyi?$/,
];

/** Why a file is summarised instead of shown, or undefined when it is shown. */
export function notShown(file: string, binary: boolean): ReviewDiff["summarised"][number]["why"] | undefined {
  if (binary) return "binary";
  if (LOCKFILES.has(file.split("/").pop()!)) return "lockfile";
  if (GENERATED.some((re) => re.test(file))) return "generated";
  return undefined;
}

/** `git` runs a git command in the checkout and returns its stdout. */
export async function reviewDiff(git: (args: string[]) => Promise<string>, base: string, context = 10): Promise<ReviewDiff> {
  const range = ["--no-renames", "--no-ext-diff", "--no-textconv", base, "HEAD"];
  // -z: paths as they are (no quoting); "-\t-\t" is git's mark of a binary file
  const numstat = (await git(["diff", "--numstat", "-z", ...range])).split("\0").filter(Boolean);
  const shown: string[] = [];
  const summarised: ReviewDiff["summarised"] = [];
  for (const entry of numstat) {
    const [added, deleted, ...rest] = entry.split("\t");
    const file = rest.join("\t");
    const binary = added === "-" && deleted === "-";
    const why = notShown(file, binary);
    if (!why) shown.push(file);
    else summarised.push({ path: file, why, ...(binary ? {} : { added: Number(added), deleted: Number(deleted) }) });
  }
  const patch = shown.length ? await git(["diff", `-U${context}`, ...range, "--", ...shown.map((f) => `:(literal)${f}`)]) : "";
  const stat = numstat.length ? await git(["diff", "--stat=120", ...range]) : "";
  return { stat: stat.trimEnd(), patch, summarised };
}

/** The diff as text: the stat, the files not shown, then the patch (cut to `cut`, which says so). */
export function reviewDiffText(diff: ReviewDiff, cut: (patch: string) => string): string {
  if (!diff.stat && !diff.patch) return "(empty: nothing changed)";
  const lines = [diff.stat];
  if (diff.summarised.length) {
    lines.push("", "Changed, not shown:");
    for (const f of diff.summarised)
      lines.push(`- ${f.path} (${f.why}${f.added !== undefined ? `, +${f.added} −${f.deleted} lines` : ""})`);
  }
  if (diff.patch) lines.push("", cut(diff.patch));
  return lines.join("\n");
}
