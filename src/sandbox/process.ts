/**
 * One command in the sandbox: its process, its output (capped, head and tail kept), its time,
 * and its end. A command ends when its first process exits: what it left running in the
 * background (a daemon, a `setsid` child holding the output pipe) is killed after a short grace
 * period and the pipes are closed, so no command outlives its timeout or hangs a run.
 */
import { execFile, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { promisify } from "node:util";
import { commandCgroup, prlimitArgs, rlimitHit, type CommandCgroup } from "./limits.js";
import type { Sandbox } from "./sandbox.js";

export interface CommandResult {
  exitCode: number | null;
  signal: string | null;
  timedOut: boolean;
  /** The sandbox limit the command ran into ("memory", "processes", "file size", "disk", …). */
  limit?: string;
  durationMs: number;
  /** Interleaved stdout and stderr, capped (head and tail kept, the cut said). */
  output: string;
  outputBytes: number;
}

export interface SandboxedCommand {
  argv: string[];
  cwd: string;
  sandbox: Sandbox;
  /** Paths inside or beside `cwd` the command may read but never write (a worktree's `.git`). */
  readOnly?: string[];
  /** The run's folder: its size is watched against the disk limits. */
  runDir?: string;
  env?: Record<string, string>;
  timeoutMs?: number;
  maxOutputChars?: number;
  signal?: AbortSignal;
}

/** The whole environment a command gets: nothing of the app's. */
export const BASE_ENV = { PATH: "/usr/local/bin:/usr/bin:/bin", LANG: "C.UTF-8", CI: "true", TERM: "dumb", NO_COLOR: "1" };
const SYSTEM_DIRS = ["/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64"];
/**
 * The parts of /etc that programs need (libraries, certificates, users, time zones, the
 * alternatives that name many binaries, toolchains' own settings), and nothing else: not
 * /etc/shadow, not an operator's files, not /etc/ssl/private.
 */
const ETC = [
  "/etc/alternatives",
  "/etc/ld.so.cache",
  "/etc/ld.so.conf",
  "/etc/ld.so.conf.d",
  "/etc/ssl/certs",
  "/etc/ssl/openssl.cnf",
  "/etc/ca-certificates",
  "/etc/ca-certificates.conf",
  "/etc/passwd",
  "/etc/group",
  "/etc/nsswitch.conf",
  "/etc/hosts",
  "/etc/host.conf",
  "/etc/localtime",
  "/etc/timezone",
  "/etc/mime.types",
  "/etc/os-release",
  "/etc/debian_version",
  "/etc/protocols",
  "/etc/services",
  "/etc/java-17-openjdk",
  "/etc/java-21-openjdk",
  "/etc/python3",
  "/etc/python3.11",
  "/etc/perl",
];
/** How long the pipes may stay open after the command's first process exits. */
const GRACE_MS = 500;
/** Writes `$$` into each cgroup.procs file named before `--`, then runs the rest. */
const ENTER_CGROUP = 'while [ "$1" != "--" ]; do echo $$ > "$1" || exit 125; shift; done; shift; exec "$@"';

const exec = promisify(execFile);

/** Bytes a folder takes on disk (`du`), or undefined when it cannot be read. */
async function diskBytes(dir: string): Promise<number | undefined> {
  try {
    const { stdout } = await exec("du", ["-s", "-x", "--block-size=1", dir], { timeout: 60_000 });
    return Number(stdout.split(/\s/)[0]);
  } catch (error) {
    const out = (error as { stdout?: string }).stdout; // files removed while du read: the total still holds
    return out ? Number(out.split(/\s/)[0]) || undefined : undefined;
  }
}

function bwrapArgs(command: SandboxedCommand, env: Record<string, string>, inner: string[]): string[] {
  const { cwd, sandbox } = command;
  return [
    ...SYSTEM_DIRS.filter((d) => existsSync(d)).flatMap((d) => ["--ro-bind", d, d]),
    ...ETC.filter((d) => existsSync(d)).flatMap((d) => ["--ro-bind", d, d]),
    "--size", String(sandbox.limits.tmpBytes), "--tmpfs", "/tmp", // before the worktree's bind, which may lie under /tmp
    "--bind", cwd, cwd,
    ...(command.readOnly ?? []).filter((p) => existsSync(p)).flatMap((p) => ["--ro-bind", p, p]),
    "--proc", "/proc",
    "--dev", "/dev",
    "--size", String(sandbox.limits.tmpBytes), "--tmpfs", "/dev/shm", // bubblewrap's /dev is a tmpfs without a size:
    "--remount-ro", "/dev", // only /dev/shm, sized, is writable (device nodes still work)
    "--unshare-all",
    "--unshare-user", // a user namespace of its own, in which
    "--disable-userns", // no further namespace can be made (less kernel to attack)
    "--die-with-parent",
    "--new-session",
    "--clearenv",
    ...Object.entries(env).flatMap(([k, v]) => ["--setenv", k, v]),
    "--chdir", cwd,
    "--",
    ...inner,
  ];
}

export async function runSandboxed(command: SandboxedCommand): Promise<CommandResult> {
  const { argv, cwd, sandbox, signal } = command;
  if (sandbox.mode === "disabled") throw new Error(`commands are disabled: ${sandbox.reason}`);
  const timeoutMs = command.timeoutMs ?? 120_000;
  const max = command.maxOutputChars ?? 20_000;
  const env = { ...BASE_ENV, HOME: sandbox.mode === "bwrap" ? "/tmp" : cwd, ...command.env };
  const started = Date.now();

  const startSize = command.runDir ? await diskBytes(command.runDir) : undefined;
  if (startSize !== undefined && startSize > sandbox.limits.runDiskBytes) {
    return { exitCode: null, signal: null, timedOut: false, limit: "disk", durationMs: 0, output: `[not run: the run's folder already holds ${mib(startSize)}, over the sandbox's ${mib(sandbox.limits.runDiskBytes)} limit for a run]`, outputBytes: 0 };
  }

  const limited = ["/usr/bin/prlimit", ...prlimitArgs(sandbox.limits, timeoutMs), ...argv];
  const inner = sandbox.mode === "bwrap" ? ["bwrap", ...bwrapArgs(command, env, limited)] : limited;
  let cgroup: CommandCgroup | undefined;
  if (sandbox.cgroups) {
    try {
      cgroup = commandCgroup(sandbox.cgroups, `cmd-${randomUUID()}`, sandbox.limits);
    } catch {
      cgroup = undefined; // the cgroup went away (a container restart): rlimits still hold
    }
  }
  const [file, args] = cgroup ? ["/bin/sh", ["-c", ENTER_CGROUP, "tollgate-sandbox", ...cgroup.procs, "--", ...inner]] : [inner[0]!, inner.slice(1)];

  return new Promise<CommandResult>((resolve) => {
    const child = spawn(file, args, { cwd, env: sandbox.mode === "bwrap" ? BASE_ENV : env, shell: false, detached: true, stdio: ["ignore", "pipe", "pipe"] });
    let kept = "";
    let head = "";
    let tail = "";
    let chars = 0;
    let bytes = 0;
    const collect = (chunk: Buffer) => {
      bytes += chunk.length;
      const text = chunk.toString("utf8");
      chars += text.length;
      if (!head) {
        kept += text;
        if (kept.length <= max) return;
        head = kept.slice(0, max / 2); // from here on only the tail moves
        tail = kept.slice(-max / 2);
        kept = "";
      } else tail = (tail + text).slice(-max / 2);
    };
    child.stdout!.on("data", collect);
    child.stderr!.on("data", collect);

    let timedOut = false;
    let limit: string | undefined;
    let done = false;
    /** Every process of the command: its group, and (with a cgroup) the ones that left it. */
    const killAll = () => {
      try {
        process.kill(-child.pid!, "SIGKILL");
      } catch {
        // the group is gone
      }
      if (cgroup) void killCgroup(cgroup);
    };
    const timer = setTimeout(() => {
      timedOut = true;
      killAll();
    }, timeoutMs);
    const onAbort = () => killAll();
    signal?.addEventListener("abort", onAbort, { once: true });

    let watch: NodeJS.Timeout | undefined;
    if (startSize !== undefined && command.runDir) {
      const runDir = command.runDir;
      const check = async () => {
        const t0 = Date.now();
        const size = await diskBytes(runDir);
        if (done) return;
        if (size !== undefined && (size - startSize > sandbox.limits.commandDiskBytes || size > sandbox.limits.runDiskBytes)) {
          limit = "disk";
          killAll();
          return;
        }
        watch = setTimeout(() => void check(), Math.max(1_000, 4 * (Date.now() - t0)));
      };
      watch = setTimeout(() => void check(), 1_000);
    }

    let exited: { code: number | null; signal: string | null } | undefined;
    const finish = async (error?: Error) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      clearTimeout(watch);
      signal?.removeEventListener("abort", onAbort);
      killAll(); // whatever the command left behind
      if (cgroup) await killCgroup(cgroup);
      child.stdout!.destroy();
      child.stderr!.destroy();
      limit ??= cgroup?.hit() ?? rlimitHit(exited?.code ?? null, exited?.signal ?? null);
      await cgroup?.remove();
      // a command that wrote fast and ended between two looks is measured once more
      if (!limit && startSize !== undefined && command.runDir) {
        const size = await diskBytes(command.runDir);
        if (size !== undefined && (size - startSize > sandbox.limits.commandDiskBytes || size > sandbox.limits.runDiskBytes)) limit = "disk";
      }
      let output = head ? `${head}\n[… ${(chars - max).toLocaleString("en-US")} characters of output cut …]\n${tail}` : kept;
      if (error) output += `${output ? "\n" : ""}could not start ${argv[0]}: ${error.message}`;
      if (timedOut) output += `\n[killed after the ${Math.round(timeoutMs / 1000)} s timeout]`;
      if (limit) output += `\n[stopped: the command ran into the sandbox's ${describeLimit(limit, sandbox)}]`;
      resolve({ exitCode: exited?.code ?? null, signal: exited?.signal ?? null, timedOut, ...(limit ? { limit } : {}), durationMs: Date.now() - started, output, outputBytes: bytes });
    };
    child.on("error", (error) => void finish(error));
    child.on("exit", (code, sig) => {
      exited = { code, signal: sig };
      // the output still in the pipes arrives before "close"; a background process holding
      // them open does not get to keep the command going
      setTimeout(() => void finish(), GRACE_MS).unref();
    });
    child.on("close", () => void finish());
  });
}

/** Kills every process in the command's cgroup, again until none is left (a fork races the first pass). */
async function killCgroup(cgroup: CommandCgroup): Promise<void> {
  for (let pass = 0; pass < 20; pass++) {
    let found = 0;
    for (const procs of cgroup.procs) {
      const pids = (await readFile(procs, "utf8").catch(() => "")).split("\n").filter(Boolean);
      found += pids.length;
      for (const pid of pids) {
        try {
          process.kill(Number(pid), "SIGKILL");
        } catch {
          // gone
        }
      }
    }
    if (!found) return;
    await new Promise((r) => setTimeout(r, 10));
  }
}

function describeLimit(limit: string, sandbox: Sandbox): string {
  const l = sandbox.limits;
  switch (limit) {
    case "memory":
      return `memory limit (${mib(l.commandMemoryBytes)} for the command, ${mib(l.processMemoryBytes)} per process)`;
    case "processes":
      return `limit of ${l.processes} processes`;
    case "file size":
      return `file size limit (${mib(l.fileSizeBytes)} per file)`;
    case "CPU time":
      return "CPU time limit";
    case "disk":
      return `disk limit (${mib(l.commandDiskBytes)} per command, ${mib(l.runDiskBytes)} per run)`;
    default:
      return `${limit} limit`;
  }
}

const mib = (bytes: number) => `${Math.round(bytes / 1024 / 1024).toLocaleString("en-US")} MiB`;
