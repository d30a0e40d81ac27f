/**
 * `tollgate run --repo PATH --issue FILE.md`: the whole pipeline on a local git repository and
 * an issue written in a file, without GitHub. The gate, the plan, the loop and the report run as
 * they do for the app; the change is left on a branch of the local repository, and the report
 * (gate verdict, plan, verification, review, cost table) goes to stdout and to a file. The model
 * is Anthropic's API (ANTHROPIC_API_KEY), or a script of answers (`--script`) to try it free.
 */
import { execFileSync } from "node:child_process";
import { createHash, randomUUID } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import type { Logger } from "pino";
import { parse as parseYaml } from "yaml";
import { modelServices, meteredModel } from "../app/model.js";
import { detectSandbox } from "../sandbox/sandbox.js";
import type { AppEnv } from "../config/env.js";
import { parseRepoConfig, REPO_CONFIG_PATH, RepoConfigError, type RepoConfig } from "../config/repo-config.js";
import { localRepoSummary } from "../context/local-summary.js";
import type { Database } from "../db/database.js";
import { migrate } from "../db/migrate.js";
import { openDatabase } from "../db/open.js";
import { sanitize } from "../safety/sanitize.js";
import { usdToMicros } from "../llm/money.js";
import { RoutedScriptedModel, type ScriptStep } from "../llm/scripted-model.js";
import { runGate } from "../phases/gate/gate.js";
import { TOLLGATE_IDENTITY } from "../pipeline/carry-out.js";
import { runPipeline, type RunOutcome } from "../pipeline/orchestrator.js";
import { watchRun } from "../pipeline/cancel.js";
import { runStatus } from "../pipeline/outcome.js";
import { PhaseRunner, RunCancelled } from "../pipeline/phase.js";
import { HEARTBEAT_STALE_SECONDS } from "../queue/jobs.js";
import type { RunStatus } from "../stores/runs.js";
import { PHASE } from "../phases/registry.js";
import { openStores } from "../stores/index.js";
import { runReporter } from "../pipeline/run-report.js";
import { renderGateComment } from "../report/gate-comment.js";
import { runsRoot } from "../workspace/run-folders.js";
import { DependencyCache } from "../setup/cache.js";
import { toolchains } from "../setup/toolchains-on-hand.js";
import { localCacheRepository } from "./cache-scope.js";
import { CliError } from "./errors.js";

export interface RunOptions {
  repo: string;
  issue: string;
  out?: string;
  script?: string;
  budget?: string;
}

/** The issue file: its first `# ` heading (or first line) is the title, the rest the body. */
export function readIssueFile(file: string): { title: string; body: string } {
  if (!existsSync(file)) throw new CliError(`--issue ${file}: no such file`);
  const text = readFileSync(file, "utf8").replace(/^\uFEFF/, "");
  if (!text.trim()) throw new CliError(`--issue ${file} is empty: write the issue's title on the first line and its body below`);
  const lines = text.split("\n");
  const first = lines.findIndex((l) => l.trim());
  const title = lines[first]!.replace(/^#+\s*/, "").trim();
  return {
    title,
    body: lines
      .slice(first + 1)
      .join("\n")
      .trim(),
  };
}

export function gitOf(repo: string): { branch: string; name: string } {
  const git = (...args: string[]) => execFileSync("git", args, { cwd: repo, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).trim();
  try {
    if (git("rev-parse", "--is-inside-work-tree") !== "true") throw new Error("not a work tree");
  } catch {
    throw new CliError(`--repo ${repo} is not a git repository`);
  }
  let branch: string;
  try {
    branch = git("symbolic-ref", "--short", "HEAD");
    git("rev-parse", "--verify", "HEAD");
  } catch {
    throw new CliError(`--repo ${repo} has no commit on a branch: Tollgate works from the branch's last commit`);
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
    throw new CliError(`${REPO_CONFIG_PATH} is not valid YAML: ${(error as Error).message.split("\n")[0]}`);
  }
  try {
    return parseRepoConfig(raw);
  } catch (error) {
    if (error instanceof RepoConfigError) throw new CliError(`${REPO_CONFIG_PATH} is invalid: ${error.problems.join("; ")}`);
    throw error;
  }
}

export function scriptedModel(file: string): RoutedScriptedModel {
  let scripts: unknown;
  try {
    scripts = JSON.parse(readFileSync(file, "utf8"));
  } catch (error) {
    throw new CliError(`--script ${file}: ${(error as Error).message}`);
  }
  if (!scripts || typeof scripts !== "object" || Array.isArray(scripts))
    throw new CliError(`--script ${file} must be a JSON object of agent → list of answers (gate, plan, execute/<unit>, triage, review)`);
  return new RoutedScriptedModel(scripts as Record<string, ScriptStep[]>);
}

const slug = (text: string) =>
  text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-|-$/g, "")
    .slice(0, 40) || "issue";

/** One local run: what `tollgate run` and `tollgate eval` share. */
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
    throw new CliError(
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

  const report = runReporter({ db, runs: stores.runs, prices: services.prices, config, runId });
  const outcome: RunOutcome = await runPipeline({
    env: {
      model,
      db,
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

export async function runCommand(env: AppEnv, log: Logger, options: RunOptions): Promise<void> {
  const repo = path.resolve(options.repo);
  gitOf(repo);
  const issue = readIssueFile(options.issue);
  const config = localConfig(repo);
  const budgetMicros = usdToMicros(options.budget === undefined ? config.budget.run_usd : Number(options.budget));
  if (!Number.isFinite(budgetMicros) || budgetMicros <= 0)
    throw new CliError(`--budget "${options.budget}" is not a positive number of dollars`);
  if (!env.anthropic.apiKey && !options.script)
    throw new CliError(
      "ANTHROPIC_API_KEY is not set: set it to use Anthropic's API, or pass --script FILE.json to replay scripted answers",
    );
  const port = options.script ? scriptedModel(options.script) : undefined;
  if (port) log.info(`answers come from ${options.script}, not from the API`);

  const db = await openDatabase(env, log);
  const controller = new AbortController();
  const onSignal = () => controller.abort(new RunCancelled("interrupted (Ctrl-C)"));
  process.once("SIGINT", onSignal);
  try {
    await migrate(db);
    const out = path.resolve(options.out ?? `tollgate-report-${slug(issue.title)}.md`);
    const branch = `tollgate/${slug(path.basename(options.issue, path.extname(options.issue)))}`;
    const issueKey = path.resolve(options.issue);
    const result = await runLocal(env, log, db, { repo, issue, issueKey, branch, config, budgetMicros, port, signal: controller.signal });
    if (!result.ready) {
      await report(out, result.verdict);
      process.exitCode = 2;
    } else if (result.body !== undefined) {
      await report(
        out,
        `${result.verdict}\n\n---\n\n# ${issue.title}\n\nBranch \`${branch}\` in ${repo}${result.draft ? " (a draft: see why below)" : ""}.\n\n${result.body}`,
      );
      if (result.draft) process.exitCode = 2;
    } else {
      await report(out, `${result.verdict}\n\n---\n\nThe run ended without a change to show: ${result.reason}`);
      process.exitCode = 2;
    }
  } finally {
    process.off("SIGINT", onSignal);
    await db.close();
  }

  async function report(file: string, markdown: string) {
    process.stdout.write(`${markdown}\n`);
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, `${markdown}\n`);
    log.info({ file }, "report written");
  }
}
