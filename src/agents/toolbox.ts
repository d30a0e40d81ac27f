/**
 * The tools an agent gets, by role: a reader (plan) sees files through the text editor's `view`,
 * `list_files` and `search`; a writer (execute) also edits and runs the allowed commands. Every
 * path goes through the path policy and every command through the sandboxed runner.
 */
import path from "node:path";
import type { Logger } from "pino";
import type { RepoConfig } from "../config/repo-config.js";
import type { AgentRecords } from "../stores/agent-records.js";
import type { AgentTool } from "./loop.js";
import { CommandRunner, commandTool, type Sandbox } from "./tools/command.js";
import { PathPolicy } from "./tools/path-policy.js";
import { repoSearchTools } from "./tools/repo-search.js";
import { TEXT_EDITOR_TOOL, TextEditor } from "./tools/text-editor.js";

export interface ToolboxOptions {
  dir: string;
  config: Pick<RepoConfig, "commands" | "paths">;
  role: "reader" | "writer";
  sandbox: Sandbox;
  /** What the writer's commands may read but not write (the tree's `.git`). */
  readOnly?: string[];
  /** The run's folder, whose size the sandbox's disk limits watch. */
  runDir?: string;
  /** What setup gives the writer's commands (PATH, offline caches, installed folders in a worktree). */
  commandEnv?: Record<string, string>;
  binds?: Array<{ from: string; to: string }>;
  records: AgentRecords;
  where: { runId?: string; phase: string; agent: string };
  log?: Logger;
}

/** Whether a writer gets `run_command`: a sandbox to run in, and an allow-list that is not empty. */
export function canRunCommands(options: Pick<ToolboxOptions, "role" | "sandbox" | "config">): boolean {
  return options.role === "writer" && options.sandbox.mode !== "disabled" && options.config.commands.allow.length > 0;
}

export async function toolbox(options: ToolboxOptions): Promise<AgentTool[]> {
  const editor = new TextEditor(await PathPolicy.create(options.dir, options.config.paths.protected));
  const reader = options.role === "reader";
  const edit: AgentTool = {
    definition: TEXT_EDITOR_TOOL,
    run: async (input) => {
      const command = (input as { command?: unknown })?.command;
      if (reader && command !== "view")
        return { content: `this agent reads only: ${String(command)} is not available, use view`, isError: true };
      return editor.run(input);
    },
  };
  const tools = [edit, ...repoSearchTools(options.dir)];
  // no sandbox or nothing allowed, no command tool: every call would be refused, a wasted turn each
  // (the agent's <environment> says it cannot run commands)
  if (canRunCommands(options)) {
    const runner = new CommandRunner({
      cwd: options.dir,
      allow: options.config.commands.allow,
      sandbox: options.sandbox,
      readOnly: options.readOnly ?? [path.join(options.dir, ".git")],
      runDir: options.runDir,
      env: options.commandEnv,
      binds: options.binds,
    });
    tools.push(commandTool(runner, options.records.commandRecorder({ ...options.where, cwd: options.dir })));
  }
  return tools;
}
