/** What every agent phase is given by the pipeline: the run's model, its records, settings and signal. */
import path from "node:path";
import type { Logger } from "pino";
import { laterCommand, type Installed } from "../setup/environment.js";
import type { RepoConfig } from "../config/repo-config.js";
import type { AgentRecords } from "../stores/agent-records.js";
import type { Sandbox } from "../sandbox/sandbox.js";
import type { MeteredModel } from "../llm/metered-model.js";

export interface PhaseEnv {
  model: MeteredModel;
  /** Where the commands and tool calls of the run's agents are recorded. */
  records: AgentRecords;
  config: RepoConfig;
  sandbox: Sandbox;
  runId: string;
  installationId?: number;
  iteration: number;
  /** What the setup step installed (absent before it, or when there was nothing to set up). */
  installed?: Installed;
  signal?: AbortSignal;
  log: Logger;
}

/** A tree commands run in: the folder, what in it they may only read (`.git`), and the run's folder (for the disk limits). */
export interface WorkTree {
  dir: string;
  readOnly: string[];
  runDir?: string;
  /** What the tree's commands get: the repository's `env:`, setup's variables (PATH, offline caches), read-only binds. */
  env?: Record<string, string>;
  binds?: Array<{ from: string; to: string }>;
}

/**
 * The work tree at `dir` (the main checkout by default) of a workspace, with what setup installed
 * and the repository's `env:` (`config.env`), which every command in it gets under Tollgate's own.
 */
export function workTree(
  installed: Installed | undefined,
  ws: { dir: string; readOnlyPaths(dir?: string): string[] },
  dir = ws.dir,
  repoEnv: Record<string, string> = {},
): WorkTree {
  const setting = laterCommand(installed, ws.dir, dir, repoEnv);
  return {
    dir,
    readOnly: [...ws.readOnlyPaths(dir), ...setting.readOnly],
    runDir: path.dirname(ws.dir),
    env: setting.env,
    binds: setting.binds,
  };
}
