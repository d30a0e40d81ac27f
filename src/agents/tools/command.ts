/**
 * The command tool: runs an argv list that matches the repo's `commands.allow`, without a shell
 * (so `$(…)` and `${…}` are just text). The allow-list says what an agent may ask for; it is not
 * the boundary (`npm test` runs whatever the repository says). The boundary is the sandbox the
 * command runs in (src/sandbox/): no network, none of the app's environment or files, `.git`
 * read-only, limits on memory, processes, files, disk and time.
 */
import { runSandboxed, type CommandResult } from "../../sandbox/process.js";
import type { Sandbox } from "../../sandbox/sandbox.js";
import { FinalError } from "../../errors.js";
import { commandSpan } from "../../observability/spans.js";
import type { AgentTool } from "../loop.js";

export type { CommandResult } from "../../sandbox/process.js";
export type { Sandbox } from "../../sandbox/sandbox.js";

export class CommandRefused extends FinalError {
  override name = "CommandRefused";
}

export interface CommandRunnerOptions {
  cwd: string;
  allow: string[][];
  sandbox: Sandbox;
  /** Paths the command may read but not write (the worktree's `.git` and the git dir behind it). */
  readOnly?: string[];
  /** Host paths seen read-only inside the tree (what setup installed in the main checkout, in a worktree). */
  binds?: Array<{ from: string; to: string }>;
  /** The run's folder, whose size the disk limits watch. */
  runDir?: string;
  timeoutMs?: number;
  maxOutputChars?: number;
  /** Extra variables for the command (never secrets). */
  env?: Record<string, string>;
}

export class CommandRunner {
  constructor(private readonly options: CommandRunnerOptions) {}

  /** The allow-list entry `argv` starts with, or undefined. */
  allowedBy(argv: string[]): string[] | undefined {
    return this.options.allow.find((prefix) => prefix.length <= argv.length && prefix.every((part, i) => argv[i] === part));
  }

  async run(argv: string[], signal?: AbortSignal): Promise<CommandResult> {
    if (!Array.isArray(argv) || argv.length === 0 || argv.some((a) => typeof a !== "string"))
      throw new CommandRefused("a command is a non-empty list of strings");
    if (!this.allowedBy(argv)) {
      const allowed = this.options.allow.map((p) => p.join(" ")).join("; ") || "nothing (commands.allow is empty)";
      throw new CommandRefused(`\`${argv.join(" ")}\` is not allowed; allowed: ${allowed}`);
    }
    const { sandbox } = this.options;
    if (sandbox.mode === "disabled") throw new CommandRefused(`commands are disabled: ${sandbox.reason}`);
    return commandSpan(argv, () => runSandboxed({ ...this.options, argv, signal }));
  }
}

/** The command tool as the agents call it; every run is stored in `commands`. */
export function commandTool(runner: CommandRunner, record: (argv: string[], result: CommandResult) => Promise<void>): AgentTool {
  return {
    definition: {
      name: "run_command",
      description:
        "Run one allowed command (an argv list, no shell: no pipes, redirects or variables) in the repository, offline, in a sandbox. The allowed argv prefixes are listed in <environment>. Returns the exit code and the output (over 20,000 characters, the middle is cut). Killed after 120 s.",
      input_schema: {
        type: "object",
        properties: {
          argv: {
            type: "array",
            items: { type: "string" },
            minItems: 1,
            description: 'The program and its arguments, one per item, starting with an allowed prefix, e.g. ["npm", "test"]',
          },
        },
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
        const status = result.limit
          ? `stopped by the sandbox's ${result.limit} limit`
          : result.timedOut
            ? "timed out"
            : result.exitCode === null
              ? `killed (${result.signal})`
              : `exit code ${result.exitCode}`;
        // a failing command (a red test) is what the agent ran it to see: an observation, not a mistake
        const failed = result.exitCode !== 0;
        return { content: `${status}, ${(result.durationMs / 1000).toFixed(1)} s\n${result.output}`, isError: failed, mistake: false };
      } catch (error) {
        if (error instanceof CommandRefused) return { content: error.message, isError: true };
        throw error;
      }
    },
  };
}
