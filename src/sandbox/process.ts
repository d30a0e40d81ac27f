/**
 * One command in the sandbox: its process, its output (capped, head and tail kept), its time,
 * and its end. A command ends when its first process exits: what it left running in the
 * background (a daemon, a `setsid` child holding the output pipe) is killed after a short grace
 * period and the pipes are closed, so no command outlives its timeout or hangs a run.
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { promisify, stripVTControlCharacters } from "node:util";
import { commandCgroup, prlimitArgs, rlimitHit, type CommandCgroup, type SandboxLimits } from "./limits.js";
import type { Sandbox } from "./sandbox.js";
import { EGRESS_PORT, EGRESS_SOCKET_IN_SANDBOX, FORWARDER, proxyEnv } from "./egress.js";

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
  /** Host paths seen read-only at another place (the main checkout's node_modules in an agent's worktree). */
  binds?: Array<{ from: string; to: string }>;
  /** The run's folder: its size is watched against the disk limits. */
  runDir?: string;
  /** More folders whose size counts with the run's (a setup's cache entry, which it may write). */
  diskDirs?: string[];
  /**
   * Folders outside `cwd` the command may write (a dependency cache for a setup step). Nothing
   * else of the host is writable.
   */
  writable?: string[];
  /**
   * The way out for a setup step that installs dependencies: the host's Unix socket of an
   * `EgressProxy` (src/sandbox/egress.ts). The command still has no network of its own: only
   * HTTPS through that proxy, which refuses the host's own and private addresses. Off by default:
   * agents' commands and verify have no way out at all.
   */
  egress?: string;
  env?: Record<string, string>;
  timeoutMs?: number;
  maxOutputChars?: number;
  signal?: AbortSignal;
}

/**
 * The whole environment a command gets, and nothing of the app's: what a GitHub-hosted runner
 * gives a step that programs read (`CI=true`, a UTF-8 locale, the system's PATH; HOME is added
 * per command), and its clock's zone (runners run in UTC; the host's own zone would make date
 * tests fail here alone). Nothing that changes a program's output (no `NO_COLOR`, no
 * `TERM=dumb`, no `FORCE_COLOR`: a runner sets none, and test suites that check their colours
 * fail under them) and nothing a runner would not say (no `GITHUB_ACTIONS`). A repository adds
 * its own with `env:` in .github/tollgate.yml (src/config/repo-env.ts).
 */
export const BASE_ENV = { PATH: "/usr/local/bin:/usr/bin:/bin", LANG: "C.UTF-8", CI: "true", TZ: "UTC" };
const SYSTEM_DIRS = ["/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64"];
/** The node that runs the egress forwarder in the sandbox: this one when it lives in the system's folders (bound read-only). */
const SYSTEM_NODE = SYSTEM_DIRS.some((d) => process.execPath.startsWith(`${d}/`)) ? process.execPath : "node";
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
export async function diskBytes(dir: string): Promise<number | undefined> {
  try {
    const { stdout } = await exec("du", ["-s", "-x", "--block-size=1", dir], { timeout: 60_000 });
    return Number(stdout.split(/\s/)[0]);
  } catch (error) {
    const out = (error as { stdout?: string }).stdout; // files removed while du read: the total still holds
    return out ? Number(out.split(/\s/)[0]) || undefined : undefined;
  }
}

/** The bytes the disk limits count for a command: the run's folder and the other folders it may write. */
async function watchedBytes(command: SandboxedCommand): Promise<number | undefined> {
  let total = 0;
  for (const dir of [command.runDir, ...(command.diskDirs ?? [])].filter((d): d is string => d !== undefined)) {
    const size = await diskBytes(dir);
    if (size === undefined) return undefined;
    total += size;
  }
  return total;
}

function bwrapArgs(command: SandboxedCommand, env: Record<string, string>, inner: string[]): string[] {
  const { cwd, sandbox } = command;
  return [
    ...SYSTEM_DIRS.filter((d) => existsSync(d)).flatMap((d) => ["--ro-bind", d, d]),
    ...ETC.filter((d) => existsSync(d)).flatMap((d) => ["--ro-bind", d, d]),
    "--size",
    String(sandbox.limits.tmpBytes),
    "--tmpfs",
    "/tmp", // before the worktree's bind, which may lie under /tmp
    "--bind",
    cwd,
    cwd,
    ...(command.readOnly ?? []).filter((p) => existsSync(p)).flatMap((p) => ["--ro-bind", p, p]),
    ...(command.binds ?? []).filter((b) => existsSync(b.from)).flatMap((b) => ["--ro-bind", b.from, b.to]),
    ...(command.writable ?? []).filter((p) => existsSync(p)).flatMap((p) => ["--bind", p, p]),
    // the egress proxy's socket (names are resolved by the proxy, so no resolver configuration)
    ...(command.egress ? ["--ro-bind", command.egress, EGRESS_SOCKET_IN_SANDBOX] : []),
    "--proc",
    "/proc",
    "--dev",
    "/dev",
    "--size",
    String(sandbox.limits.tmpBytes),
    "--tmpfs",
    "/dev/shm", // bubblewrap's /dev is a tmpfs without a size:
    "--remount-ro",
    "/dev", // only /dev/shm, sized, is writable (device nodes still work)
    "--unshare-all",
    "--unshare-user", // a user namespace of its own, in which
    "--disable-userns", // no further namespace can be made (less kernel to attack)
    "--die-with-parent",
    "--new-session",
    "--clearenv",
    ...Object.entries(env).flatMap(([k, v]) => ["--setenv", k, v]),
    "--chdir",
    cwd,
    "--",
    ...inner,
  ];
}

export async function runSandboxed(command: SandboxedCommand): Promise<CommandResult> {
  const { cwd, sandbox } = command;
  if (sandbox.mode === "disabled") throw new Error(`commands are disabled: ${sandbox.reason}`);
  const timeoutMs = command.timeoutMs ?? 120_000;
  const env = { ...BASE_ENV, HOME: sandbox.mode === "bwrap" ? "/tmp" : cwd, ...command.env, ...(command.egress ? proxyEnv() : {}) };
  const started = Date.now();

  const startSize = command.runDir ? await watchedBytes(command) : undefined;
  if (startSize !== undefined && startSize > sandbox.limits.runDiskBytes) {
    return {
      exitCode: null,
      signal: null,
      timedOut: false,
      limit: "disk",
      durationMs: 0,
      output: `[not run: the run's folder already holds ${mib(startSize)}, over the sandbox's ${mib(sandbox.limits.runDiskBytes)} limit for a run]`,
      outputBytes: 0,
    };
  }

  // with a way out, the command runs under the forwarder to the egress proxy (in the sandbox only)
  const argv =
    command.egress && sandbox.mode === "bwrap"
      ? [SYSTEM_NODE, "-e", FORWARDER, "--", EGRESS_SOCKET_IN_SANDBOX, String(EGRESS_PORT), ...command.argv]
      : command.argv;
  const limited = ["/usr/bin/prlimit", ...prlimitArgs(sandbox.limits, timeoutMs), ...argv];
  const inner = sandbox.mode === "bwrap" ? ["bwrap", ...bwrapArgs(command, env, limited)] : limited;
  const cgroup = openCgroup(sandbox);
  const [file, args] = cgroup
    ? ["/bin/sh", ["-c", ENTER_CGROUP, "tollgate-sandbox", ...cgroup.procs, "--", ...inner]]
    : [inner[0]!, inner.slice(1)];

  return new Promise<CommandResult>((resolve) => {
    const run = new SandboxedRun(command, { timeoutMs, started, startSize, cgroup }, resolve);
    run.start(file, args, sandbox.mode === "bwrap" ? BASE_ENV : env);
  });
}

/** A cgroup of the command's own, when the sandbox has cgroups to make one in. */
function openCgroup(sandbox: Sandbox): CommandCgroup | undefined {
  if (!sandbox.cgroups) return undefined;
  try {
    return commandCgroup(sandbox.cgroups, `cmd-${randomUUID()}`, sandbox.limits);
  } catch {
    return undefined; // the cgroup went away (a container restart): rlimits still hold
  }
}

/** Whether the run's folder, now `size` bytes, is over a disk limit (for the command, or for the run). */
function overDisk(size: number | undefined, startSize: number, limits: SandboxLimits): boolean {
  return size !== undefined && (size - startSize > limits.commandDiskBytes || size > limits.runDiskBytes);
}

/** An escape sequence cut off at the end of a chunk: its rest comes with the next one. */
// eslint-disable-next-line no-control-regex -- matching escape sequences is the point
const UNFINISHED_ESCAPE = /\x1b(?:\[[0-?]*[ -/]*|\][^\x07\x1b]{0,200}|)$/;

/**
 * A command's output as it comes, without terminal escape sequences (colours, cursor moves, links:
 * with no `NO_COLOR`, test runners colour their output under `CI=true`, and nobody who reads it,
 * model or person, is a terminal): all of it up to `max` characters, then its head and its tail.
 */
export class OutputCollector {
  private kept = "";
  private head = "";
  private tail = "";
  private chars = 0;
  /** The start of an escape sequence the last chunk ended in. */
  private pending = "";
  bytes = 0;

  constructor(private readonly max: number) {}

  add(chunk: Buffer): void {
    this.bytes += chunk.length;
    let raw = this.pending + chunk.toString("utf8");
    const unfinished = UNFINISHED_ESCAPE.exec(raw);
    this.pending = unfinished ? unfinished[0] : "";
    if (unfinished) raw = raw.slice(0, unfinished.index);
    this.keep(stripVTControlCharacters(raw));
  }

  private keep(text: string): void {
    const max = this.max;
    this.chars += text.length;
    if (!this.head) {
      this.kept += text;
      if (this.kept.length <= max) return;
      this.head = this.kept.slice(0, max / 2); // from here on only the tail moves
      this.tail = this.kept.slice(-max / 2);
      this.kept = "";
    } else this.tail = (this.tail + text).slice(-max / 2);
  }

  text(): string {
    if (this.pending) this.keep(stripVTControlCharacters(this.pending)); // the output ended inside one
    this.pending = "";
    return this.head
      ? `${this.head}\n[… ${(this.chars - this.max).toLocaleString("en-US")} characters of output cut …]\n${this.tail}`
      : this.kept;
  }
}

interface RunSetup {
  timeoutMs: number;
  started: number;
  /** The run's folder's size before the command, when it is watched. */
  startSize: number | undefined;
  cgroup: CommandCgroup | undefined;
}

/** One spawned command, from its start to its result: its timeout, the disk watch, and its end. */
class SandboxedRun {
  private child!: ChildProcess;
  private readonly output: OutputCollector;
  private timedOut = false;
  private limit: string | undefined;
  private done = false;
  private timer: NodeJS.Timeout | undefined;
  private watch: NodeJS.Timeout | undefined;
  private exited: { code: number | null; signal: string | null } | undefined;
  private readonly onAbort = () => this.killAll();

  constructor(
    private readonly command: SandboxedCommand,
    private readonly setup: RunSetup,
    private readonly resolve: (result: CommandResult) => void,
  ) {
    this.output = new OutputCollector(command.maxOutputChars ?? 20_000);
  }

  start(file: string, args: string[], env: Record<string, string>): void {
    const child = spawn(file, args, { cwd: this.command.cwd, env, shell: false, detached: true, stdio: ["ignore", "pipe", "pipe"] });
    this.child = child;
    const collect = (chunk: Buffer) => this.output.add(chunk);
    child.stdout!.on("data", collect);
    child.stderr!.on("data", collect);

    this.timer = setTimeout(() => {
      this.timedOut = true;
      this.killAll();
    }, this.setup.timeoutMs);
    this.command.signal?.addEventListener("abort", this.onAbort, { once: true });
    this.watchDisk();

    child.on("error", (error) => void this.finish(error));
    child.on("exit", (code, sig) => {
      this.exited = { code, signal: sig };
      // the output still in the pipes arrives before "close"; a background process holding
      // them open does not get to keep the command going
      setTimeout(() => void this.finish(), GRACE_MS).unref();
    });
    child.on("close", () => void this.finish());
  }

  /** Every process of the command: its group, and (with a cgroup) the ones that left it. */
  private killAll(): void {
    try {
      process.kill(-this.child.pid!, "SIGKILL");
    } catch {
      // the group is gone
    }
    if (this.setup.cgroup) void killCgroup(this.setup.cgroup);
  }

  /** Measures the run's folder now and then (less often when `du` is slow): over a limit, the command is killed. */
  private watchDisk(): void {
    const { runDir, sandbox } = this.command;
    const startSize = this.setup.startSize;
    if (startSize === undefined || !runDir) return;
    const check = async () => {
      const t0 = Date.now();
      const size = await watchedBytes(this.command);
      if (this.done) return;
      if (overDisk(size, startSize, sandbox.limits)) {
        this.limit = "disk";
        this.killAll();
        return;
      }
      this.watch = setTimeout(() => void check(), Math.max(1_000, 4 * (Date.now() - t0)));
    };
    this.watch = setTimeout(() => void check(), 1_000);
  }

  private async finish(error?: Error): Promise<void> {
    if (this.done) return;
    this.done = true;
    const { cgroup, startSize } = this.setup;
    clearTimeout(this.timer);
    clearTimeout(this.watch);
    this.command.signal?.removeEventListener("abort", this.onAbort);
    this.killAll(); // whatever the command left behind
    if (cgroup) await killCgroup(cgroup);
    this.child.stdout!.destroy();
    this.child.stderr!.destroy();
    this.limit ??= cgroup?.hit() ?? rlimitHit(this.exited?.code ?? null, this.exited?.signal ?? null);
    await cgroup?.remove();
    // a command that wrote fast and ended between two looks is measured once more
    if (!this.limit && startSize !== undefined && this.command.runDir) {
      if (overDisk(await watchedBytes(this.command), startSize, this.command.sandbox.limits)) this.limit = "disk";
    }
    this.resolve(this.result(error));
  }

  private result(error: Error | undefined): CommandResult {
    const { timedOut, limit, exited } = this;
    let output = this.output.text();
    if (error) output += `${output ? "\n" : ""}could not start ${this.command.argv[0]}: ${error.message}`;
    if (timedOut) output += `\n[killed after the ${Math.round(this.setup.timeoutMs / 1000)} s timeout]`;
    if (limit) output += `\n[stopped: the command ran into the sandbox's ${describeLimit(limit, this.command.sandbox)}]`;
    return {
      exitCode: exited?.code ?? null,
      signal: exited?.signal ?? null,
      timedOut,
      ...(limit ? { limit } : {}),
      durationMs: Date.now() - this.setup.started,
      output,
      outputBytes: this.output.bytes,
    };
  }
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
