/**
 * `tollgate eval`: every task of a suite, several times, through the same pipeline as `tollgate
 * run` (the gate, setup, plan, the loop, the report), each attempt on a fresh copy of the task's
 * repository; then the hidden check on the run's branch. A run that fails is a result, not the
 * end of the evaluation.
 */
import { mkdtempSync, rmSync } from "node:fs";
import path from "node:path";
import type { Logger } from "pino";
import type { AppEnv } from "../config/env.js";
import type { Database } from "../db/database.js";
import { usdToMicros } from "../llm/money.js";
import { detectSandbox } from "../sandbox/sandbox.js";
import { DependencyCache } from "../setup/cache.js";
import { toolchains } from "../setup/toolchains-on-hand.js";
import { runFigures } from "../stores/eval.js";
import { localConfig, runLocal, scriptedModel } from "../app/local-run.js";
import { hiddenCheck } from "./hidden-check.js";
import type { Attempt } from "./report.js";
import { SuiteError, type EvalSuite, type EvalTask } from "./suite.js";
import { prepareTaskRepo } from "./task-repo.js";

export interface EvalOptions {
  suite: EvalSuite;
  /** Attempts per task. */
  runs: number;
  /** Each task's scripted answers instead of the API. */
  scripted: boolean;
  /** Where fetched repositories are (`<owner>+<name>/repo`). */
  mirrors: string;
  /** Where attempts' repositories are made (removed after each). */
  workDir: string;
  onAttempt?: (attempt: Attempt) => void;
}

export async function runEval(env: AppEnv, log: Logger, db: Database, options: EvalOptions): Promise<Attempt[]> {
  const { suite } = options;
  if (options.scripted) {
    const missing = suite.tasks.find((t) => !t.script);
    if (missing) throw new SuiteError(`--scripted: task ${missing.id} has no \`script\` of answers`);
  }
  const sandbox = detectSandbox(log, { allowUnsafe: env.allowUnsandboxed });
  const cache = new DependencyCache(env.dataDir, env.setup.cacheMaxBytes);
  const attempts: Attempt[] = [];
  for (const task of suite.tasks)
    for (let attempt = 1; attempt <= options.runs; attempt++) {
      const dir = mkdtempSync(path.join(options.workDir, `${task.id}-${attempt}-`));
      try {
        const a = await oneAttempt(env, log.child({ task: task.id, attempt }), db, { ...options, task, attempt, dir, sandbox, cache });
        attempts.push(a);
        options.onAttempt?.(a);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }
  return attempts;
}

async function oneAttempt(
  env: AppEnv,
  log: Logger,
  db: Database,
  o: EvalOptions & { task: EvalTask; attempt: number; dir: string; sandbox: ReturnType<typeof detectSandbox>; cache: DependencyCache },
): Promise<Attempt> {
  const { task } = o;
  const repo = await prepareTaskRepo(o.suite, task, path.join(o.dir, "repo"), o.mirrors);
  const config = localConfig(repo.dir);
  const branch = `tollgate/${task.id}`;
  const base = { task: task.id, attempt: o.attempt, expect: task.expect };
  const result = await runLocal(env, log, db, {
    repo: repo.dir,
    issue: task.issue,
    // every attempt's repository is a fresh folder: the suite and the task are what stay the same
    repositoryKey: `eval:${path.resolve(o.suite.dir)}`,
    issueKey: task.id,
    branch,
    config,
    budgetMicros: usdToMicros(task.budget_usd),
    port: o.scripted ? scriptedModel(path.join(o.suite.dir, task.script!)) : undefined,
  }).catch((error: unknown) => ({ error: error instanceof Error ? error.message : String(error) }));
  if ("error" in result) {
    log.warn({ err: result.error }, "the attempt's run failed");
    return {
      ...base,
      runId: "",
      ready: false,
      status: "error",
      resolved: task.hidden ? false : null,
      detail: result.error,
      figures: noFigures,
    };
  }
  const [figures] = await runFigures(db, [result.runId]);
  const attempt = { ...base, runId: result.runId, ready: result.ready, status: result.status, figures: figures! };
  if (!result.ready) return { ...attempt, resolved: task.expect === "ready" ? false : null, detail: "held back by the gate" };
  if (result.body === undefined || !task.hidden)
    return { ...attempt, resolved: task.hidden ? false : null, detail: result.reason ?? "no change to check" };
  const check = await hiddenCheck({
    repo: repo.dir,
    branch,
    baseBranch: "main",
    task,
    hidden: repo.hidden,
    config,
    sandbox: o.sandbox,
    cache: o.cache,
    extraEnv: env.setup.env,
    toolchains: toolchains(env.dataDir, env.setup, log),
    dir: o.dir,
    log,
  });
  return { ...attempt, resolved: check.passed, detail: check.detail };
}

const noFigures = { runId: "", iterations: 0, phases: [], prompts: [] };
