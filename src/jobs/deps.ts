/** What the job handlers work with: the stores, GitHub, the model, and the queue to send runs on. */
import type { DependencyCache } from "../setup/cache.js";
import type { NodeToolchains } from "../setup/node-toolchain.js";
import type { Logger } from "pino";
import type { RepoConfig } from "../config/repo-config.js";
import type { Database } from "../db/database.js";
import type { Octokit } from "../github/issues.js";
import type { MeteredModel } from "../llm/metered-model.js";
import type { OperatorCaps } from "../llm/budget.js";
import type { PriceBook } from "../llm/pricing.js";
import type { RunTarget } from "../pipeline/run-target.js";
import type { ReviseJob } from "../queue/jobs.js";
import type { Sandbox } from "../sandbox/sandbox.js";
import type { Stores } from "../stores/index.js";
import type { Identity } from "../workspace/workspace.js";
import type { GitHubFactory } from "./context.js";

export interface JobDeps extends Stores {
  db: Database;
  github: GitHubFactory;
  /** The metered model for a run, on the repo's tiers and budgets. */
  model: (config: RepoConfig, log: Logger, runBudgetMicros: number | (() => number)) => MeteredModel;
  prices: PriceBook;
  /** The operator's caps (the environment's defaults; `tollgate caps` overrides them per installation). */
  operatorCaps: OperatorCaps;
  /** Sends a run on to the run queue; `deliveryId` is the delivery that led to it (for the logs). */
  enqueueRun: (target: RunTarget, deliveryId: string) => Promise<void>;
  /** Sends a revision job again, to start after `seconds` (one waiting per PR). */
  reviseLater: (job: ReviseJob, seconds: number) => Promise<void>;
}

/** What the run job needs besides: where commands run and where runs clone. */
export interface RunJobDeps extends JobDeps {
  sandbox: Sandbox;
  runsRoot: string;
  /** The dependency cache of setup steps (src/setup/cache.ts), and the operator's setup variables. */
  setupCache?: DependencyCache;
  setupEnv?: Record<string, string>;
  setupToolchains?: NodeToolchains;
  /** Who the run's commits are by; when absent, `appIdentity` says (or the pipeline's default). */
  identity?: Identity;
  /** The app's bot identity, read once per process with the first run's installation Octokit (src/github/app-identity.ts). */
  appIdentity?: (installation: Octokit) => Promise<Identity>;
  cancelPollMs?: number;
  now?: () => number;
}
