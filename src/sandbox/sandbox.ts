/**
 * Where the commands of a repository run (its tests, its build, what the agents ask for). They
 * are code nobody at Tollgate wrote, so the sandbox is the boundary, and it fails closed:
 * - `bwrap`: inside bubblewrap (no network, no host folder but the system's read-only ones and
 *   the command's worktree, `.git` read-only, private /tmp, /proc and PID space), with limits;
 * - `disabled`: bubblewrap is missing or cannot make namespaces here, so no command runs: the
 *   agents get no command tool and verify does not run, and the issue says why;
 * - `unsafe`: the operator set TOLLGATE_UNSAFE_NO_SANDBOX=1 and commands run on the host, with
 *   a clean environment and limits but nothing else between them and the app.
 */
import { spawnSync } from "node:child_process";
import type { Logger } from "pino";
import { DEFAULT_LIMITS, detectCgroups, type CgroupSupport, type SandboxLimits } from "./limits.js";

export const UNSAFE_VARIABLE = "TOLLGATE_UNSAFE_NO_SANDBOX";

export interface Sandbox {
  mode: "bwrap" | "disabled" | "unsafe";
  /** Why there is no sandbox (modes `disabled` and `unsafe`). */
  reason?: string;
  limits: SandboxLimits;
  /** Cgroups for memory and processes, when this process may make them. */
  cgroups?: CgroupSupport;
}

/** The probe: a sandbox as the commands get it, running `true`. */
function probeBwrap(binary: string): string | undefined {
  const probe = spawnSync(
    binary,
    [
      "--ro-bind",
      "/",
      "/",
      "--proc",
      "/proc",
      "--dev",
      "/dev",
      "--unshare-all",
      "--unshare-user",
      "--disable-userns",
      "--die-with-parent",
      "true",
    ],
    {
      encoding: "utf8",
      timeout: 10_000,
    },
  );
  if (probe.error)
    return (probe.error as NodeJS.ErrnoException).code === "ENOENT"
      ? "bubblewrap is not installed (apt-get install bubblewrap)"
      : `bubblewrap could not start: ${probe.error.message}`;
  if (probe.status === 0) return undefined;
  const why = probe.stderr.trim().split("\n").pop() || `exit code ${probe.status}`;
  return `bubblewrap cannot set up its sandbox here (${why}); see docs/container.md`;
}

/**
 * Finds out which sandbox this machine gives, and says so in the log in one line (which mode,
 * and which limits hold). `allowUnsafe` is the operator's explicit opt-in to running without.
 */
export function detectSandbox(
  log: Logger,
  options: { allowUnsafe?: boolean; limits?: Partial<SandboxLimits>; /** for tests: another binary to probe */ bwrap?: string } = {},
): Sandbox {
  const limits = { ...DEFAULT_LIMITS, ...options.limits };
  const cgroups = detectCgroups();
  const processCap = cgroups
    ? "cgroup"
    : process.getuid?.() === 0
      ? "NOT limited (root without a writable cgroup: RLIMIT_NPROC does not bind root)"
      : "rlimit";
  const limitsLine = `memory ${mb(limits.processMemoryBytes)} per process${cgroups ? `, ${mb(limits.commandMemoryBytes)} per command` : ""}, processes ${processCap}, files up to ${mb(limits.fileSizeBytes)}, disk ${mb(limits.commandDiskBytes)} per command and ${mb(limits.runDiskBytes)} per run`;
  const problem = probeBwrap(options.bwrap ?? "bwrap");
  if (!problem) {
    log.info(
      { sandbox: "bwrap", limits },
      `sandbox: bubblewrap (no network, only the worktree writable, .git read-only); limits: ${limitsLine}`,
    );
    return { mode: "bwrap", limits, cgroups };
  }
  if (options.allowUnsafe) {
    log.warn(
      { sandbox: "unsafe", reason: problem },
      `sandbox: NONE. ${problem}, and ${UNSAFE_VARIABLE}=1 is set: repository commands run directly on this host, where they can read this process's secrets and reach the network`,
    );
    return { mode: "unsafe", reason: problem, limits, cgroups };
  }
  log.error(
    { sandbox: "disabled", reason: problem },
    `sandbox: commands are disabled: ${problem}. Agents get no command tool and verify does not run (${UNSAFE_VARIABLE}=1 runs them unsandboxed, which is unsafe)`,
  );
  return { mode: "disabled", reason: problem, limits };
}

/** The line the issue and the PR show when commands cannot run, or undefined when they can. */
export function commandsDisabled(sandbox: Sandbox): string | undefined {
  return sandbox.mode === "disabled" ? `commands are disabled: ${sandbox.reason}` : undefined;
}

/** A sandbox for tests and benchmarks: whatever this machine gives, quietly. */
export function sandboxFor(mode: Sandbox["mode"], limits: Partial<SandboxLimits> = {}): Sandbox {
  return {
    mode,
    reason: mode === "bwrap" ? undefined : `chosen: ${mode}`,
    limits: { ...DEFAULT_LIMITS, ...limits },
    cgroups: mode === "disabled" ? undefined : detectCgroups(),
  };
}

const mb = (bytes: number) => (bytes >= 1024 ** 3 ? `${+(bytes / 1024 ** 3).toFixed(1)} GiB` : `${Math.round(bytes / 1024 ** 2)} MiB`);
