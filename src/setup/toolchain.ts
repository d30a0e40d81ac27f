/**
 * The toolchain a checkout is set up with: the versions of the programs its setup runs (they key
 * the dependency cache: an install made by another Node is not reused), and whether the Node.js
 * the sandbox has is the one the project asks for (`engines`, `.nvmrc`, `.node-version`, `volta`).
 */
import semver from "semver";

/** How a program's version is asked for, by its name; a program not here is asked `--version`. */
const VERSION_ARGS: Record<string, string[]> = { go: ["version"] };

/** The programs whose versions key a setup: the first word of each command, and Node for a Node project. */
export function toolchainPrograms(commands: string[][], node: boolean): string[] {
  const programs = new Set(commands.map((argv) => argv[0]!).filter((p) => !p.includes("/")));
  if (node) programs.add("node");
  return [...programs].sort();
}

export function versionArgv(program: string): string[] {
  return [program, ...(VERSION_ARGS[program] ?? ["--version"])];
}

/** The first line a `--version` printed, cut short; "missing" when the program did not run. */
export function versionLine(exitCode: number | null, output: string): string {
  if (exitCode !== 0) return "missing";
  return (output.trim().split("\n")[0] ?? "").slice(0, 80);
}

export interface NodeCheck {
  wanted: string;
  from: string;
  available: string;
  /** undefined when the wanted value cannot be compared (`lts/*`, a code name). */
  satisfied?: boolean;
  /** One sentence for the sticky comment. */
  line: string;
}

/**
 * Whether `available` (`v20.11.1`) is what the project wants. A range (`>=18`, `^20`) must be
 * satisfied; an exact version (an `.nvmrc` with `20.11.0`) matches on its major version, as
 * version managers' users expect a patch release to be fine.
 */
export function checkNode(raw: string, from: string, available: string | undefined): NodeCheck {
  // the repository's words, shown as one short code span
  const wanted = raw
    .replace(/[\s`]+/g, " ")
    .trim()
    .slice(0, 60);
  const have = available ? semver.clean(available) : null;
  const base = { wanted, from, available: have ?? "none" };
  if (!have) return { ...base, satisfied: false, line: `Node \`${wanted}\` is wanted (${from}), but the sandbox has no working node.` };
  const exact = semver.valid(semver.clean(wanted) ?? "");
  const range = exact ? null : semver.validRange(wanted.replace(/^v(?=\d)/, ""));
  if (!exact && !range)
    return { ...base, line: `Node \`${wanted}\` is wanted (${from}): Tollgate cannot compare that with the sandbox's Node ${have}.` };
  const satisfied = exact ? semver.major(exact) === semver.major(have) : semver.satisfies(have, range!);
  return {
    ...base,
    satisfied,
    line: satisfied
      ? `Node ${have} (the project wants \`${wanted}\`, ${from}).`
      : `Node \`${wanted}\` is wanted (${from}), but the sandbox has Node ${have}: setup and the checks run on ${have}, so failures may come from the version, not the change.`,
  };
}
