/**
 * One local run, as `tollgate run` (src/cli/run.ts) and `tollgate eval` (src/eval/run-eval.ts)
 * carry it out: a local git repository, its own `.github/tollgate.yml`, an issue's title and body,
 * the gate and the pipeline as the app runs them, recorded as a run like the app's.
 */
import { execFileSync } from "node:child_process";
import { createHash, randomUUID } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import type { Logger } from "pino";
import { parse as parseYaml } from "yaml";
import type { AppEnv } from "../config/env.js";
import { parseRepoConfig, REPO_CONFIG_PATH, RepoConfigError, type RepoConfig } from "../config/repo-config.js";
import { localRepoSummary } from "../context/local-summary.js";
import type { Database } from "../db/database.js";
import { FinalError } from "../errors.js";
import { RoutedScriptedModel, type ScriptStep } from "../llm/scripted-model.js";
import { runGate } from "../phases/gate/gate.js";
import { PHASE } from "../phases/registry.js";
import { watchRun } from "../pipeline/cancel.js";
import { TOLLGATE_IDENTITY } from "../pipeline/carry-out.js";
import { runPipeline, type RunOutcome } from "../pipeline/orchestrator.js";
import { runStatus } from "../pipeline/outcome.js";
import { PhaseRunner, RunCancelled } from "../pipeline/phase.js";
import { runReporter } from "../pipeline/run-report.js";
import { HEARTBEAT_STALE_SECONDS } from "../queue/jobs.js";
import { renderGateComment } from "../report/gate-comment.js";
import { sanitize } from "../safety/sanitize.js";
import { detectSandbox } from "../sandbox/sandbox.js";
import { DependencyCache } from "../setup/cache.js";
import { toolchains } from "../setup/toolchains-on-hand.js";
import { openStores } from "../stores/index.js";
import type { RunStatus } from "../stores/runs.js";
import { runsRoot } from "../workspace/run-folders.js";
import { localCacheRepository } from "./cache-scope.js";
import { meteredModel, modelServices } from "./model.js";

/** A problem with a local run's input (the repository, its settings, a script) that the person running it can fix. */
export class LocalRunError extends FinalError {
  override name = "LocalRunError";
}

export function gitOf(repo: string): { branch: string; name: string } {
  const git = (...args: string[]) => execFileSync("git", args, { cwd: repo, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).trim();
  try {
    if (git("rev-parse", "--is-inside-work-tree") !== "true") throw new Error("not a work tree");
  } catch {
    throw new LocalRunError(`--repo ${repo} is not a git repository`);
  }
  let branch: string;
  try {
    branch = git("symbolic-ref", "--short", "HEAD");
    git("rev-parse", "--verify", "HEAD");
  } catch {
    throw new LocalRunError(`--repo ${repo} has no commit on a branch: Tollgate works from the branch's last commit`);
  }
  return { branch, name: path.basename(git("rev-parse", "--show-toplevel")) };
}

export function localConfig(repo: string): RepoConfig {
  const file = path.join(repo, REPO_CONFIG_PATH);
  if (!existsSync(file)) return parseRepoConfig({});
  let raw: unknown;
  try {
    raw = parseYaml(readFileSync(file, "utf8"));
  } catch (error) {
    throw new LocalRunError(`${REPO_CONFIG_PATH} is not valid YAML: ${(error as Error).message.split("\n")[0]}`);
  }
  try {
    return parseRepoConfig(raw);
  } catch (error) {
    if (error instanceof RepoConfigError) throw new LocalRunError(`${REPO_CONFIG_PATH} is invalid: ${error.problems.join("; ")}`);
    throw error;
  }
}

export function scriptedModel(file: string): RoutedScriptedModel {
  let scripts: unknown;
  try {
    scripts = JSON.parse(readFileSync(file, "utf8"));
  } catch (error) {
    throw new LocalRunError(`--script ${file}: ${(error as Error).message}`);
  }
  if (!scripts || typeof scripts !== "object" || Array.isArray(scripts))
    throw new LocalRunError(
      `--script ${file} must be a JSON object of agent → list of answers (gate, plan, execute/<unit>, triage, review)`,
    );
  return new RoutedScriptedModel(scripts as Record<string, ScriptStep[]>);
}

export interface LocalRunInput {
  /** A git work tree on a branch; the change is left on `branch` in it. */
  repo: string;
  issue: { title: string; body: string };
  branch: string;
  config: RepoConfig;
  budgetMicros: number;
  /** Which issue this is, found again by it (the issue file's path, an eval task's name): its runs share an issue number. */
  issueKey: string;
  /** Which repository this is (default: the repository's absolute path): its runs share a repository id. */
  repositoryKey?: string;
  /** Scripted answers instead of the API. */
  port?: RoutedScriptedModel;
  signal?: AbortSignal;
}

/** A local repository's id in the runs table: 48 bits of a hash of its key, so each has its own. */
export function localRepositoryId(key: string): number {
  return Number.parseInt(createHash("sha256").update(key).digest("hex").slice(0, 12), 16);
}

export interface LocalRunResult {
  runId: string;
  /** The gate's comment; `ready` false means nothing more ran. */
  verdict: string;
  ready: boolean;
  ticketType: string;
  status: RunStatus;
  /** The report of a run that left a change on its branch. */
  body?: string;
  draft?: boolean;
  reason?: string;
}

/**
 * One local run, recorded as a run like the app's: it beats while it works, and ends with the
 * status the app would give the same outcome (src/pipeline/outcome.ts); a run that throws (a bad
 * key, an unreachable API, an exhausted script, Ctrl-C) is recorded failed or cancelled, with why.
 */
export async function runLocal(env: AppEnv, log: Logger, db: Database, input: LocalRunInput): Promise<LocalRunResult> {
  const { repo } = input;
  const { branch: baseBranch, name } = gitOf(repo);
  const stores = openStores(db);
  const lease = randomUUID();
  const created = await stores.runs.createLocal({
    repo: name,
    repositoryId: localRepositoryId(input.repositoryKey ?? path.resolve(repo)),
    issueKey: input.issueKey,
    budgetUsdMicros: input.budgetMicros,
    lease,
    staleSeconds: HEARTBEAT_STALE_SECONDS,
  });
  if ("active" in created)
    throw new LocalRunError(
      `a run of this issue is already going in this data folder (run ${created.active.id}): wait for it to end, or stop its process (a run whose process stopped is closed after ${HEARTBEAT_STALE_SECONDS} s)`,
    );
  const runId = created.run.id;
  const runLog = log.child({ run: runId });
  if (created.closed.length) runLog.warn({ runs: created.closed }, "earlier local runs whose process had stopped were recorded as failed");
  const controller = new AbortController();
  const abort = () => controller.abort(input.signal?.reason);
  if (input.signal?.aborted) abort();
  else input.signal?.addEventListener("abort", abort, { once: true });
  const stopBeating = watchRun(stores.runs, runId, lease, controller);
  try {
    return await carryOutLocal(env, runLog, db, { ...input, signal: controller.signal }, { runId, name, baseBranch });
  } catch (error) {
    const cancelled = error instanceof RunCancelled || controller.signal.aborted;
    const message = error instanceof Error ? error.message : String(error);
    await stores.runs.setStatus(runId, cancelled ? "cancelled" : "failed", { error: message });
    throw error;
  } finally {
    stopBeating();
    input.signal?.removeEventListener("abort", abort);
  }
}

async function carryOutLocal(
  env: AppEnv,
  runLog: Logger,
  db: Database,
  input: LocalRunInput,
  run: { runId: string; name: string; baseBranch: string },
): Promise<LocalRunResult> {
  const { repo, issue, config } = input;
  const { runId, name, baseBranch } = run;
  const stores = openStores(db);
  const services = modelServices(env, db, input.port);
  const model = meteredModel(services, config, runLog, input.budgetMicros);
  const phases = new PhaseRunner(stores.phases, runId, runLog, { signal: input.signal });
  const text = sanitize(`Title: ${issue.title}\n\nBody:\n${issue.body || "(empty)"}`).text;

  // the gate
  const gate = (
    await phases.run(PHASE.gate, 0, async () =>
      runGate(model, { issue: text, repoSummary: await localRepoSummary(repo, name, baseBranch) }, { runId, iteration: 0 }),
    )
  ).value;
  const verdict = renderGateComment({
    verdict: gate.verdict,
    gateCostMicros: gate.costMicros,
    expected: null,
    status: gate.verdict.ready ? "ready: planning." : "not ready: nothing more was run.",
    needsSpecLabel: "ai-needs-spec",
    triggerLabel: "ai-ready",
  });
  const ticketType = gate.verdict.ticket_type;
  if (!gate.verdict.ready) {
    await stores.runs.setStatus(runId, "needs_spec", { ticketType });
    return { runId, verdict, ready: false, ticketType, status: "needs_spec" };
  }

  const report = runReporter({ costs: stores.costs, runs: stores.runs, prices: services.prices, config, runId });
  const outcome: RunOutcome = await runPipeline({
    env: {
      model,
      records: stores.records,
      config,
      sandbox: detectSandbox(runLog, { allowUnsafe: env.allowUnsandboxed }),
      runId,
      signal: input.signal,
      log: runLog,
    },
    host: { source: { remoteUrl: repo, branch: baseBranch }, identity: TOLLGATE_IDENTITY, publish: async () => ({}) },
    phases,
    runsRoot: runsRoot(env.dataDir),
    setup: {
      cache: { store: new DependencyCache(env.dataDir, env.setup.cacheMaxBytes), scope: { repository: localCacheRepository(repo) } },
      extraEnv: env.setup.env,
      toolchains: toolchains(env.dataDir, env.setup, runLog),
    },
    issue: { title: issue.title, text },
    branch: input.branch,
    report,
  });
  const status = runStatus(outcome);
  await stores.runs.setStatus(runId, status, {
    ticketType,
    ...(status === "failed" || status === "stopped" ? { error: outcome.reason } : {}),
  });
  if (!("published" in outcome)) return { runId, verdict, ready: true, ticketType, status, reason: outcome.reason };
  return {
    runId,
    verdict,
    ready: true,
    ticketType,
    status,
    body: await report(outcome.state),
    draft: outcome.draft,
    reason: outcome.reason,
  };
}
