/**
 * A run past its gate, on GitHub: everything between a ready verdict and the run's outcome.
 *   1. The gate's verdict from its checkpoint; watch for a cancel; show progress in the sticky
 *      comment as phases start and end.
 *   2. Run the pipeline (src/pipeline/orchestrator.ts) against the repository's clone URL,
 *      with the installation token asked for before each git command, on the issue as the gate
 *      read it (its checkpoint's snapshot): text posted or edited after the gate never reaches
 *      plan or execute.
 *   3. Record the outcome on the run and in the sticky comment (the PR link and the final
 *      cost); a revision answers in each review thread.
 * A failure that retrying cannot fix (`isFinal`: a model's unusable answers, an agent out of
 * turns, a refused request) ends the run `failed` with its reason on the issue. Anything else (a
 * crash, GitHub or the database unavailable) is thrown, so the job is retried, which resumes.
 */
import type { Logger } from "pino";
import type { RepoConfig } from "../config/repo-config.js";
import { FinalError, isFinal } from "../errors.js";
import type { MeteredModel } from "../llm/metered-model.js";
import type { PriceBook } from "../llm/pricing.js";
import type { Verdict } from "../phases/gate/verdict.js";
import { renderProgress } from "../report/progress.js";
import { movedLine } from "../report/pr-body.js";
import { commandsDisabled, type Sandbox } from "../sandbox/sandbox.js";
import type { RunCosts } from "../stores/cost-rows.js";
import type { AgentRecords } from "../stores/agent-records.js";
import type { PhaseStore } from "../stores/phases.js";
import type { BudgetStore } from "../stores/budget.js";
import { nearDailyCap, type OperatorCaps } from "../llm/budget.js";
import { usdToMicros } from "../llm/money.js";
import { notResumed, type RunRow, type RunStatus, type RunStore } from "../stores/runs.js";
import type { Identity } from "../workspace/workspace.js";
import type { DependencyCache } from "../setup/cache.js";
import type { NodeToolchains } from "../setup/node-toolchain.js";
import type { SetupResult } from "../setup/setup.js";
import { setupProgressLines } from "../report/setup-summary.js";
import { RunTakenOver, watchRun } from "./cancel.js";
import type { GateCheckpoint, IssueSnapshot } from "./gate-run.js";
import type { IssueContext, PullsPort } from "./issue-context.js";
import { branchFor, runPipeline, type PipelineRun, type RunOutcome } from "./orchestrator.js";
import { PhaseRunner } from "./phase.js";
import { annotatePullRequest, runSpan } from "../observability/spans.js";
import { PHASE } from "../phases/registry.js";
import { answerThreads, reviewFeedback } from "./review-threads.js";
import { runStatus } from "./outcome.js";
import { runReporter } from "./run-report.js";
import type { RunTarget, StepResult } from "./run-target.js";

/** Who Tollgate's commits are by; a commit by anyone else on its branch stops a push. */
export const TOLLGATE_IDENTITY: Identity = { name: "tollgate[bot]", email: "tollgate[bot]@users.noreply.github.com" };

export interface CarryOutDeps {
  runs: RunStore;
  /** Reservations and the operator's per-installation caps (for the "daily cap is near" note). */
  budget: BudgetStore;
  operatorCaps: OperatorCaps;
  phases: PhaseStore;
  /** What the run cost so far (progress, the report), and where its agents' commands and tool calls are recorded. */
  costs: RunCosts;
  records: AgentRecords;
  model: (config: RepoConfig, log: Logger, runBudgetMicros: number | (() => number)) => MeteredModel;
  prices: PriceBook;
  sandbox: Sandbox;
  runsRoot: string;
  /** The dependency cache of setup steps, and the operator's setup variables. */
  setupCache?: DependencyCache;
  setupEnv?: Record<string, string>;
  setupToolchains?: NodeToolchains;
  identity?: Identity;
  /** How often a running run looks for a cancel, in ms. */
  cancelPollMs?: number;
}

/**
 * Carries out `run`, which this worker holds under `lease` (src/stores/runs.ts `claim`). A run
 * taken over by another worker meanwhile is let go without a word (see src/pipeline/cancel.ts).
 * The work is one run span, which links the issue and, once opened, the pull request: a child of
 * the gate's run span when the job carries the gate's trace context, the root of a trace otherwise.
 */
export async function carryOut(
  ctx: IssueContext,
  run: RunRow,
  lease: string,
  target: RunTarget,
  config: RepoConfig,
  deps: CarryOutDeps,
  log: Logger,
): Promise<StepResult> {
  const facts = { runId: run.id, step: "carry_out", installationId: target.installationId, restart: run.restarts } as const;
  const where = { owner: ctx.owner, repo: ctx.repo, issue: ctx.issue, cloneUrl: target.repository.cloneUrl };
  // under the gate's run span when the job carries its trace context (a follow-up run has none)
  const parent = target.trace ? { parent: target.trace } : {};
  return runSpan({ ...facts, ...where, ...parent }, () => carryOutRun(ctx, run, lease, target, config, deps, log));
}

async function carryOutRun(
  ctx: IssueContext,
  run: RunRow,
  lease: string,
  target: RunTarget,
  config: RepoConfig,
  deps: CarryOutDeps,
  log: Logger,
): Promise<StepResult> {
  await deps.runs.setStatus(run.id, "running");
  const watch = new RunWatch(deps.runs, run, lease, deps.cancelPollMs, log);
  const letGo = { outcome: "ignored", detail: "another worker took the run over" } as const;
  // (a run taken over is the new worker's to show)
  const onChange = async () => void (watch.takenOver() || (await sticky("working on it")));
  const phases = new PhaseRunner(deps.phases, run.id, log, { signal: watch.signal, onChange });
  const nearCap = () => {
    const repoDaily = config.budget.daily_usd === undefined ? undefined : usdToMicros(config.budget.daily_usd);
    return nearDailyCap(deps.budget, target.installationId, repoDaily, deps.operatorCaps, Date.now());
  };
  const sticky = await progressComment(ctx, run.id, phases, deps, { budget: () => watch.budgetMicros, nearCap });
  const pulls = ctx.pulls;
  let outcome: RunOutcome;
  try {
    // a run whose worker stopped twice is not resumed again (src/jobs/run-sweep.ts): it fails here, with why on the issue
    const stopped = notResumed(run.restarts);
    if (stopped) throw new FinalError(stopped);
    outcome = await runPipeline(await pipelineRun(ctx, { run, lease, target, config, phases, pulls, watch }, deps, log));
  } catch (error) {
    if (watch.takenOver()) return letGo;
    if (!isFinal(error)) throw error; // retried: the run resumes from its checkpoints
    const message = error instanceof Error ? error.message : String(error);
    log.error({ err: error }, "the run failed");
    // the issue hears first: when that fails, the retried job says it again
    await sticky("stopped: the run failed", [`**Why:** ${message}`, "", "Remove and add the label again to start over."]);
    await deps.runs.setStatus(run.id, "failed", { error: message });
    return { outcome: "failed", detail: message };
  } finally {
    watch.stop();
  }

  if (watch.takenOver()) return letGo;
  const { status, detail, footer, title } = describe(outcome);
  if (target.revise) await answerThreads(pulls, (pr, body) => ctx.gh.comment(pr, body), target.revise, outcome, log);
  await sticky(title, footer);
  await deps.runs.setStatus(run.id, status, status === "failed" || status === "stopped" ? { error: detail } : {});
  return { outcome: status === "failed" ? "failed" : "done", detail };
}

/** The worker's watch over the run it holds: heartbeat, cancel, a raised budget, a take-over. */
class RunWatch {
  readonly #controller = new AbortController();
  readonly stop: () => void;
  budgetMicros: number;

  constructor(runs: RunStore, run: RunRow, lease: string, pollMs: number | undefined, log: Logger) {
    this.budgetMicros = run.budget_usd_micros ?? 0;
    this.stop = watchRun(runs, run.id, lease, this.#controller, pollMs, (row) => {
      if (row.budget_usd_micros === null || row.budget_usd_micros === this.budgetMicros) return;
      log.info({ from: this.budgetMicros, to: row.budget_usd_micros }, "the run's budget was changed");
      this.budgetMicros = row.budget_usd_micros;
    });
  }

  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  takenOver(): boolean {
    return this.#controller.signal.reason instanceof RunTakenOver;
  }
}

/** The sticky comment as the run goes: its title, the gate's line, the phases and their cost, and a footer. */
async function progressComment(
  ctx: IssueContext,
  runId: string,
  phases: PhaseRunner,
  deps: CarryOutDeps,
  money: { budget: () => number; nearCap: () => Promise<string | undefined> },
) {
  const disabled = commandsDisabled(deps.sandbox);
  const cannot = "The agents cannot run commands and the checks will not run, so the pull request will be a draft.";
  const warnings = disabled ? [`> [!WARNING]`, `> **${disabled}.** ${cannot}`, ""] : [];
  const gate = (await phases.checkpoint<{ verdict: Verdict }>(PHASE.gate, 0))?.verdict;
  const gateLine = gate && `Spec gate: ready ✅ (score ${gate.score}/100), ${gate.ticket_type}, size ${gate.size.toUpperCase()}.`;
  return async (title: string, footer: string[] = []) => {
    const [records, costs, near, setup] = await Promise.all([
      phases.phases(),
      deps.costs.phaseCosts(runId),
      money.nearCap(),
      phases.checkpoint<SetupResult>(PHASE.setup, 0),
    ]);
    const notes = near ? [`> [!NOTE]`, `> ${near}`, ""] : [];
    const progress = {
      title,
      gate: gateLine,
      setup: setup && setupProgressLines(setup.output),
      phases: records,
      costs,
      budgetMicros: money.budget(),
      footer: [...warnings, ...notes, ...footer],
    };
    await ctx.gh.upsertSticky(ctx.issue, renderProgress(progress));
  };
}

/** What the orchestrator needs for this run on GitHub: the model, the clone and push, the PR, the report. */
async function pipelineRun(
  ctx: IssueContext,
  r: { run: RunRow; lease: string; target: RunTarget; config: RepoConfig; phases: PhaseRunner; pulls: PullsPort; watch: RunWatch },
  deps: CarryOutDeps,
  log: Logger,
): Promise<PipelineRun> {
  const { owner, repo, issue } = ctx;
  const { run, target, config } = r;
  const gated = await gatedIssue(r.phases);
  // a revision works on its PR's branch (moved to `-<k>` when a human's commit was on the first)
  const branch = target.revise?.branch ?? branchFor(issue);
  const publish = async (pr: { branch: string; title: string; body: string; draft: boolean }) => {
    const opened = await r.pulls.upsert({ ...pr, base: target.repository.defaultBranch });
    await deps.runs.setPullRequest(run.id, opened.number);
    annotatePullRequest({ url: opened.url, number: opened.number, branch: pr.branch });
    const what = opened.created ? "pull request opened" : "pull request updated";
    log.info({ pr: opened.number, created: opened.created, draft: opened.draft }, what);
    return { url: opened.url, number: opened.number };
  };
  const token = () => ctx.gitToken();
  const model = deps.model(config, log, () => r.watch.budgetMicros);
  const issueRuns = () => deps.costs.runsOfIssue(owner, repo, issue);
  return {
    env: {
      model,
      records: deps.records,
      config,
      sandbox: deps.sandbox,
      runId: run.id,
      installationId: target.installationId,
      signal: r.watch.signal,
      log,
    },
    host: {
      source: {
        remoteUrl: target.repository.cloneUrl,
        branch: target.revise ? branch : target.repository.defaultBranch,
        defaultBranch: target.repository.defaultBranch,
        token,
      },
      identity: deps.identity ?? TOLLGATE_IDENTITY,
      publish,
    },
    phases: r.phases,
    runsRoot: deps.runsRoot,
    setup: {
      ...(deps.setupCache && {
        cache: { store: deps.setupCache, scope: { installationId: target.installationId, repository: `${owner}/${repo}` } },
      }),
      extraEnv: deps.setupEnv,
      ...(deps.setupToolchains && { toolchains: deps.setupToolchains }),
    },
    attempt: r.lease,
    issue: { number: issue, title: gated.title, text: gated.text },
    branch,
    fromHumanHead: target.fromHumanHead,
    ...(target.revise ? { revise: { feedback: reviewFeedback(target.revise.threads) } } : {}),
    report: runReporter({ costs: deps.costs, runs: deps.runs, prices: deps.prices, config, runId: run.id, issueNumber: issue, issueRuns }),
  };
}

/**
 * The issue as the run's gate read it (a follow-up run has its source's copy). A checkpoint
 * from before the snapshot was kept cannot say what the gate read: the run stops rather than
 * read the issue as it is now.
 */
async function gatedIssue(phases: PhaseRunner): Promise<IssueSnapshot> {
  const gate = await phases.checkpoint<GateCheckpoint>(PHASE.gate, 0);
  if (gate?.issue) return gate.issue;
  throw new FinalError(
    "the run's spec gate has no copy of the issue text it read (it ran before Tollgate kept one), so the run cannot tell what was approved: comment `/retry` to gate the issue again",
  );
}

/** A run's outcome as its status (src/pipeline/outcome.ts), the sticky comment's title and footer, and one line for the log. */
export function describe(outcome: RunOutcome): { status: RunStatus; title: string; detail: string; footer: string[] } {
  const status = runStatus(outcome);
  switch (outcome.status) {
    case "cancelled":
      return {
        status,
        title: "cancelled",
        detail: "cancelled",
        footer: ["The run was cancelled: no pull request was opened. What it spent is above."],
      };
    case "human_commits":
      return {
        status,
        title: "stopped: the branch has someone else's commits",
        detail: outcome.reason,
        footer: [`**Why:** ${outcome.reason}.`, "", "Tollgate never pushes over commits that are not its own."],
      };
    default:
      if (!("published" in outcome)) {
        return {
          status,
          title: "stopped by the budget",
          detail: outcome.reason,
          footer: [`**Why:** ${outcome.reason}`, "", "Nothing was changed yet, so no pull request was opened."],
        };
      }
  }
  const pr = outcome.published.number ? `#${outcome.published.number}` : "the pull request";
  const moved = outcome.published.moved ? ["", movedLine(outcome.published.moved)] : [];
  if (!outcome.draft) {
    const unchecked = outcome.state.verify && !outcome.state.verify.checks.length;
    return {
      status,
      title: `pull request ${pr} is ready for review`,
      detail: `pull request ${pr}: ${unchecked ? "the review passed; nothing was checked (no verify commands)" : "checks and review passed"}`,
      footer: [
        `Pull request: ${pr}.`,
        ...(unchecked
          ? ["", "**Nothing was checked**: no `verify.commands` are configured and none were detected, so only the review passed."]
          : []),
        ...moved,
      ],
    };
  }
  return {
    status,
    title: `draft pull request ${pr}`,
    detail: `draft pull request ${pr}: ${outcome.reason ?? outcome.status}`,
    footer: [`Draft pull request: ${pr}. **Why a draft:** ${outcome.reason ?? outcome.status}`, ...moved],
  };
}
