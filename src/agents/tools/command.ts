/**
 * The command tool: runs an argv list that matches the repo's `commands.allow`, without a shell
 * (so `$(…)` and `${…}` are just text), with an environment of its own (no token, key or
 * database URL of the app's), a timeout, and an output cap that keeps the head and the tail.
 * Inside bubblewrap, when it is there: no network, only the system's read-only folders and the
 * worktree (writable) visible, a private /tmp, /proc and PID space.
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import type { Logger } from "pino";
import type { ToolDefinition } from "../../llm/model.js";

export type Sandbox = "bwrap" | "none";

export interface CommandResult {
  exitCode: number | null;
  signal: string | null;
  timedOut: boolean;
  durationMs: number;
  /** Interleaved stdout and stderr, capped (head and tail kept, the cut said). */
  output: string;
  outputBytes: number;
}

export class CommandRefused extends Error {
  override name = "CommandRefused";
}

/** The whole environment a command gets: nothing of the app's. */
const BASE_ENV = { PATH: "/usr/local/bin:/usr/bin:/bin", LANG: "C.UTF-8", CI: "true", TERM: "dumb", NO_COLOR: "1" };
const SYSTEM_DIRS = ["/usr", "/bin", "/sbin", "/lib", "/lib64", "/etc"];

/** Is bubblewrap there and able to make namespaces here? Says so in the log either way. */
export function detectSandbox(log: Logger): Sandbox {
  const probe = spawnSync("bwrap", ["--ro-bind", "/", "/", "--unshare-all", "--die-with-parent", "true"], { stdio: "ignore", timeout: 5_000 });
  if (probe.status === 0) {
    log.info("commands run inside bubblewrap: no network, only the worktree writable");
    return "bwrap";
  }
  log.warn(
    probe.error ? "bubblewrap (bwrap) is not installed: commands run WITHOUT a sandbox (apt-get install bubblewrap)" : "bubblewrap cannot create namespaces here: commands run WITHOUT a sandbox",
  );
  return "none";
}

export class CommandRunner {
  constructor(
    private readonly options: {
      cwd: string;
      allow: string[][];
      sandbox: Sandbox;
      timeoutMs?: number;
      maxOutputChars?: number;
      /** Extra variables for the command (never secrets). */
      env?: Record<string, string>;
    },
  ) {}

  /** The allow-list entry `argv` starts with, or undefined. */
  allowedBy(argv: string[]): string[] | undefined {
    return this.options.allow.find((prefix) => prefix.length <= argv.length && prefix.every((part, i) => argv[i] === part));
  }

  async run(argv: string[], signal?: AbortSignal): Promise<CommandResult> {
    if (!Array.isArray(argv) || argv.length === 0 || argv.some((a) => typeof a !== "string")) throw new CommandRefused("a command is a non-empty list of strings");
    if (!this.allowedBy(argv)) {
      const allowed = this.options.allow.map((p) => p.join(" ")).join("; ") || "nothing (commands.allow is empty)";
      throw new CommandRefused(`\`${argv.join(" ")}\` is not allowed; allowed: ${allowed}`);
    }
    const { cwd, sandbox } = this.options;
    const env = { ...BASE_ENV, HOME: sandbox === "bwrap" ? "/tmp" : cwd, ...this.options.env };
    const [file, args] =
      sandbox === "bwrap"
        ? [
            "bwrap",
            [
              ...SYSTEM_DIRS.filter((d) => existsSync(d)).flatMap((d) => ["--ro-bind", d, d]),
              "--tmpfs", "/tmp", // before the worktree's bind, which may lie under /tmp
              "--bind", cwd, cwd,
              "--proc", "/proc",
              "--dev", "/dev",
              "--unshare-all",
              "--die-with-parent",
              "--new-session",
              "--clearenv",
              ...Object.entries(env).flatMap(([k, v]) => ["--setenv", k, v]),
              "--chdir", cwd,
              "--",
              ...argv,
            ],
          ]
        : [argv[0]!, argv.slice(1)];
    const timeoutMs = this.options.timeoutMs ?? 120_000;
    const max = this.options.maxOutputChars ?? 20_000;
    const started = Date.now();
    return new Promise<CommandResult>((resolve) => {
      const child = spawn(file, args, { cwd, env: sandbox === "bwrap" ? BASE_ENV : env, shell: false, detached: true, stdio: ["ignore", "pipe", "pipe"] });
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
      const kill = () => {
        try {
          process.kill(-child.pid!, "SIGKILL"); // the whole process group
        } catch {
          // already gone
        }
      };
      const timer = setTimeout(() => {
        timedOut = true;
        kill();
      }, timeoutMs);
      signal?.addEventListener("abort", kill, { once: true });
      const finish = (exitCode: number | null, sig: string | null, error?: Error) => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", kill);
        let output = head ? `${head}\n[… ${(chars - max).toLocaleString("en-US")} characters of output cut …]\n${tail}` : kept;
        if (error) output += `${output ? "\n" : ""}could not start ${argv[0]}: ${error.message}`;
        if (timedOut) output += `\n[killed after the ${Math.round(timeoutMs / 1000)} s timeout]`;
        resolve({ exitCode, signal: sig, timedOut, durationMs: Date.now() - started, output, outputBytes: bytes });
      };
      child.on("error", (error) => finish(null, null, error));
      child.on("close", (code, sig) => finish(code, sig));
    });
  }
}

/** The command tool as the agents call it; every run is stored in `commands`. */
export function commandTool(
  runner: CommandRunner,
  record: (argv: string[], result: CommandResult) => Promise<void>,
): { definition: ToolDefinition; run(input: unknown, signal?: AbortSignal): Promise<{ content: string; isError: boolean }> } {
  return {
    definition: {
      name: "run_command",
      description:
        "Run one allowed command (an argv list, no shell: no pipes, redirects or variables) in the repository. Returns the exit code and the output (long output is cut in the middle).",
      input_schema: {
        type: "object",
        properties: { argv: { type: "array", items: { type: "string" }, minItems: 1, description: 'e.g. ["npm", "test"]' } },
        required: ["argv"],
        additionalProperties: false,
      },
    },
    async run(input, signal) {
      const argv = (input as { argv?: unknown })?.argv;
      if (!Array.isArray(argv) || argv.length === 0 || argv.some((a) => typeof a !== "string")) {
        return { content: 'invalid input for run_command: argv must be a non-empty list of strings, e.g. ["npm", "test"]', isError: true };
      }
      try {
        const result = await runner.run(argv as string[], signal);
        await record(argv as string[], result);
        const status = result.timedOut ? "timed out" : result.exitCode === null ? `killed (${result.signal})` : `exit code ${result.exitCode}`;
        return { content: `${status}, ${(result.durationMs / 1000).toFixed(1)} s\n${result.output}`, isError: result.exitCode !== 0 };
      } catch (error) {
        if (error instanceof CommandRefused) return { content: error.message, isError: true };
        throw error;
      }
    },
  };
}
