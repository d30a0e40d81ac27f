/** What every agent phase is given by the pipeline: the run's model, database, settings and signal. */
import type { Logger } from "pino";
import type { RepoConfig } from "../config/repo-config.js";
import type { Database } from "../db/database.js";
import type { Sandbox } from "../sandbox/sandbox.js";
import type { MeteredModel } from "../llm/metered-model.js";

export interface PhaseEnv {
  model: MeteredModel;
  db: Database;
  config: RepoConfig;
  sandbox: Sandbox;
  runId: string;
  installationId?: number;
  iteration: number;
  signal?: AbortSignal;
  log: Logger;
}

/** A tree commands run in: the folder, what in it they may only read (`.git`), and the run's folder (for the disk limits). */
export interface WorkTree {
  dir: string;
  readOnly: string[];
  runDir?: string;
}
