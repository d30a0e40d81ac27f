/**
 * What one sandboxed command may use. Two layers:
 * - rlimits, always (set by `prlimit` inside the sandbox, inherited by every child): memory per
 *   process (RLIMIT_DATA, which counts what a process really allocates, unlike RLIMIT_AS, which
 *   breaks V8 and the JVM by counting their address-space reservations), processes
 *   (RLIMIT_NPROC), the size of any one file (RLIMIT_FSIZE) and CPU time per process
 *   (RLIMIT_CPU). RLIMIT_NPROC is not enforced for the real root user, so
 * - a cgroup per command, when this process may create one (root on a VM or a host, or a
 *   delegated cgroup): the memory of the whole command and its number of processes.
 * Disk is watched by the runner (src/sandbox/process.ts): the bytes a command adds to its
 * writable tree, and the run's folder in all; /tmp is a tmpfs of a fixed size.
 */
import { accessSync, constants, existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";

export interface SandboxLimits {
  /** Memory a single process may allocate (RLIMIT_DATA). */
  processMemoryBytes: number;
  /** Memory of the whole command, every process together (cgroup, when there is one). */
  commandMemoryBytes: number;
  /** Processes and threads the command may have at once. */
  processes: number;
  /** The largest file a command may write. */
  fileSizeBytes: number;
  /** Bytes a command may add to its writable tree. */
  commandDiskBytes: number;
  /** Bytes a run's folder may hold in all (clone, worktrees and what commands wrote). */
  runDiskBytes: number;
  /** Size of the command's private /tmp (RAM). */
  tmpBytes: number;
  /** CPU seconds per process; at least the command's timeout. */
  cpuSeconds: number;
}

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

export const DEFAULT_LIMITS: SandboxLimits = {
  processMemoryBytes: 4 * GiB,
  commandMemoryBytes: 6 * GiB,
  processes: 1024,
  fileSizeBytes: 1 * GiB,
  commandDiskBytes: 4 * GiB,
  runDiskBytes: 12 * GiB,
  tmpBytes: 512 * MiB,
  cpuSeconds: 1_800,
};

/** `prlimit` arguments that put the limits on the command it runs. */
export function prlimitArgs(limits: SandboxLimits, timeoutMs: number): string[] {
  const cpu = Math.max(limits.cpuSeconds, Math.ceil(timeoutMs / 1000));
  return [
    `--data=${limits.processMemoryBytes}`,
    `--nproc=${limits.processes}`,
    `--fsize=${limits.fileSizeBytes}`,
    `--cpu=${cpu}`,
    "--core=0",
    "--",
  ];
}

/** Which limit an exit looks like: 128 + SIGXFSZ or SIGXCPU, as bubblewrap reports a killed child. */
export function rlimitHit(exitCode: number | null, signal: string | null): string | undefined {
  if (exitCode === 128 + 25 || signal === "SIGXFSZ") return "file size";
  if (exitCode === 128 + 24 || signal === "SIGXCPU") return "CPU time";
  return undefined;
}

/** A cgroup for one command: its processes, memory, and what it hit. */
export interface CommandCgroup {
  /** `cgroup.procs` files the command's first process writes itself into. */
  procs: string[];
  /** "processes" or "memory" when the command ran into that limit. */
  hit(): string | undefined;
  /** Removes the cgroup once its last process is gone (retried briefly: the kernel lags). */
  remove(): Promise<void>;
}

interface Controller {
  /** The folder new cgroups are made in, for this controller. */
  parent: string;
  version: 1 | 2;
}

export interface CgroupSupport {
  pids: Controller;
  memory: Controller;
}

const TOLLGATE_GROUP = "tollgate";

/**
 * Where this process may make cgroups with a pids and a memory controller, or undefined.
 * cgroup v2: a writable folder under /sys/fs/cgroup whose controllers include both; v1: the
 * writable `pids` and `memory` hierarchies.
 */
export function detectCgroups(root = "/sys/fs/cgroup"): CgroupSupport | undefined {
  const writable = (dir: string) => {
    try {
      accessSync(dir, constants.W_OK);
      return true;
    } catch {
      return false;
    }
  };
  const prepare = (dir: string) => {
    const group = path.join(dir, TOLLGATE_GROUP);
    try {
      mkdirSync(group, { recursive: true });
      if (!writable(group)) return undefined;
      // cgroups of commands an earlier process left behind: empty (rmdir refuses the rest) and
      // older than a minute (a new one is empty for a moment before its command enters it)
      for (const name of readdirSync(group).filter((n) => n.startsWith("cmd-"))) {
        try {
          if (Date.now() - statSync(path.join(group, name)).mtimeMs > 60_000) rmdirSync(path.join(group, name));
        } catch {
          // still in use
        }
      }
      return group;
    } catch {
      return undefined;
    }
  };
  const v2Controllers = path.join(root, "cgroup.controllers");
  if (existsSync(v2Controllers)) {
    const controllers = readFileSync(v2Controllers, "utf8").split(/\s+/);
    if (!controllers.includes("pids") || !controllers.includes("memory") || !writable(root)) return undefined;
    try {
      // the children of tollgate/ get both controllers
      const group = prepare(root);
      if (!group) return undefined;
      writeFileSync(path.join(root, "cgroup.subtree_control"), "+pids +memory");
      writeFileSync(path.join(group, "cgroup.subtree_control"), "+pids +memory");
      return { pids: { parent: group, version: 2 }, memory: { parent: group, version: 2 } };
    } catch {
      return undefined;
    }
  }
  const pids = path.join(root, "pids");
  const memory = path.join(root, "memory");
  if (!existsSync(path.join(pids, "cgroup.procs")) || !existsSync(path.join(memory, "cgroup.procs"))) return undefined;
  const pidsGroup = prepare(pids);
  const memoryGroup = prepare(memory);
  if (!pidsGroup || !memoryGroup) return undefined;
  return { pids: { parent: pidsGroup, version: 1 }, memory: { parent: memoryGroup, version: 1 } };
}

/** Makes the cgroup(s) of one command, with its limits set. */
export function commandCgroup(support: CgroupSupport, name: string, limits: SandboxLimits): CommandCgroup {
  const made: string[] = [];
  const make = (controller: Controller) => {
    const dir = path.join(controller.parent, name);
    if (!made.includes(dir)) {
      mkdirSync(dir);
      made.push(dir);
    }
    return dir;
  };
  const pids = make(support.pids);
  const memory = make(support.memory);
  writeFileSync(path.join(pids, "pids.max"), String(limits.processes));
  if (support.memory.version === 2) {
    writeFileSync(path.join(memory, "memory.max"), String(limits.commandMemoryBytes));
    writeFileSync(path.join(memory, "memory.swap.max"), "0");
  } else {
    writeFileSync(path.join(memory, "memory.limit_in_bytes"), String(limits.commandMemoryBytes));
  }
  const read = (file: string) => {
    try {
      return readFileSync(file, "utf8");
    } catch {
      return "";
    }
  };
  const counter = (text: string, key: string) => Number(new RegExp(`^${key} (\\d+)$`, "m").exec(text)?.[1] ?? 0);
  return {
    procs: made.map((dir) => path.join(dir, "cgroup.procs")),
    hit() {
      if (counter(read(path.join(pids, "pids.events")), "max") > 0) return "processes";
      const oom = support.memory.version === 2 ? read(path.join(memory, "memory.events")) : read(path.join(memory, "memory.oom_control"));
      if (counter(oom, "oom_kill") > 0) return "memory";
      return undefined;
    },
    async remove() {
      for (const dir of made) {
        for (let attempt = 0; attempt < 10; attempt++) {
          try {
            rmdirSync(dir);
            break;
          } catch {
            await new Promise((r) => setTimeout(r, 20)); // a process is still exiting; the start-up sweep takes what is left
          }
        }
      }
    },
  };
}
