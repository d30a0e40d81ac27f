/**
 * A run's first step, the spec gate: the steps before any code is written, for a sender the
 * job has already authorised.
 *   1. Create the run (one per delivery, one active per issue), recording who authorised it.
 *   2. Run the spec gate (a checkpointed phase) and post its verdict as the sticky comment. The
 *      checkpoint keeps the issue's text as the gate read it: plan and execute work from that
 *      snapshot, never from what was posted or edited later (src/pipeline/carry-out.ts).
 *   3. Label: not ready → `ai-needs-spec`, the run ends `needs_spec`; ready → the label goes,
 *      the run is `queued`, and `enqueueRun` sends it on (src/pipeline/carry-out.ts).
 */
import type { Logger } from "pino";
import type { RepoConfig } from "../config/repo-config.js";
import { isFinal } from "../errors.js";
import type { IssueData } from "../phases/gate/issue.js";
import type { MeteredModel } from "../llm/metered-model.js";
import { usdToMicros } from "../llm/money.js";
import { runGate } from "../phases/gate/gate.js";
import { issueText } from "../phases/gate/input.js";
import { issueTextSha256 } from "../safety/text-hash.js";
import { readyStatus, renderFailure, renderGateComment } from "../report/gate-comment.js";
import type { QueueInspection } from "../stores/queue-inspection.js";
import type { CostHistory } from "../stores/history.js";
import type { PhaseStore } from "../stores/phases.js";
import type { RunRow, RunStore } from "../stores/runs.js";
import type { IssueContext } from "./issue-context.js";
import { PhaseRunner } from "./phase.js";
import { runSpan, runTraceContext } from "../observability/spans.js";
import { PHASE } from "../phases/registry.js";
import type { Verdict } from "../phases/gate/verdict.js";
import type { RunTarget, StepResult } from "./run-target.js";

export const NEEDS_SPEC_LABEL = "ai-needs-spec";

export interface GateRunDeps {
  runs: RunStore;
  phases: PhaseStore;
  /** Past runs' costs, for the verdict's expected cost. */
  history: CostHistory;
  /** The metered model for a run, on the repo's tiers and budgets. */
  model: (config: RepoConfig, log: Logger, runBudgetMicros: number | (() => number)) => MeteredModel;
  /** Sends a ready run on to its pipeline. */
  enqueueRun: (target: RunTarget) => Promise<void>;
  /** How many runs wait for a worker, which a ready verdict tells (src/stores/queue-inspection.ts). */
  queueInfo: Pick<QueueInspection, "waitingRuns">;
}

export interface GateRunInput {
  deliveryId: string;
  installationId: number;
  repository: RunTarget["repository"];
  issue: RunTarget["issue"];
  /** An edit of the issue re-runs the gate: a run already active reads the edit itself. */
  edited?: boolean;
  /** Started by `/retry`: a branch someone else pushed to is built on, not refused. */
  retry?: boolean;
  /** Who authorised the run (the labeller with write access, the `/retry`er): recorded on it. */
  authorizedBy: string;
  /** The label event a labelled run consumes (GitHub's issue event id): one label event starts one run. */
  labelEventId?: number;
  /**
   * When the authorising person last saw the text (src/pipeline/text-authority.ts): comments by people
   * without write access written after that are not read. Absent: all are read, quoted.
   */
  seenAt?: Date;
  /** The issue as the job already read it; read here otherwise. */
  issueData?: IssueData;
  /** Whether a comment's author has write access: only their comments instruct; the others are quoted as untrusted. */
  mayInstruct: (login: string) => Promise<boolean>;
}

/** The issue as the gate read it: what plan and execute work from. */
export interface IssueSnapshot {
  title: string;
  /** The text the gate read (src/phases/gate/input.ts): sanitized, untrusted comments quoted. */
  text: string;
  /** The hash of the title and body read (src/safety/text-hash.ts): what an `/approve` must have seen. Absent in older checkpoints. */
  textSha256?: string;
}

/** The gate phase's checkpoint. */
export interface GateCheckpoint {
  verdict: Verdict;
  costMicros: number | null;
  calls: number;
  /** Absent in checkpoints from before it was kept. */
  issue?: IssueSnapshot;
  /** `/approve`: who overrode a verdict that was not ready. */
  approved_by?: string;
}

export async function gateRun(
  ctx: IssueContext,
  input: GateRunInput,
  config: RepoConfig,
  deps: GateRunDeps,
  log: Logger,
): Promise<StepResult> {
  const run = await createRun(ctx, input, config, deps);
  if ("outcome" in run) return run;
  const facts = { runId: run.id, step: "gate", installationId: input.installationId, cloneUrl: input.repository.cloneUrl } as const;
  return runSpan({ ...facts, owner: ctx.owner, repo: ctx.repo, issue: ctx.issue }, () => gateOfRun(ctx, run, input, config, deps, log));
}

/** The gate of a run just created (or resumed by a retried job), as the root span of its trace. */
async function gateOfRun(
  ctx: IssueContext,
  run: RunRow,
  input: GateRunInput,
  config: RepoConfig,
  deps: GateRunDeps,
  log: Logger,
): Promise<StepResult> {
  const runLog = log.child({ run: run.id });
  let result: GateCheckpoint;
  try {
    result = await theGate(ctx, run.id, input, config, deps, runLog);
  } catch (error) {
    // A failure a retry cannot fix (an unusable answer, a budget, a refused request) ends the
    // gate here; anything else (a model error that may pass, GitHub or the database failing) is
    // thrown, so the queue retries the job, as it does for the phases after the gate.
    if (!isFinal(error)) throw error;
    const message = (error as Error).message;
    runLog.error({ err: error }, "the spec gate failed");
    await deps.runs.setStatus(run.id, "failed", { error: message });
    await ctx.gh.upsertSticky(ctx.issue, renderFailure("the spec gate failed", message));
    return { outcome: "failed", detail: message };
  }
  // labels and the verdict, unless the run was cancelled meanwhile
  if ((await deps.runs.get(run.id))?.status === "cancelled") {
    runLog.info("the run was cancelled during the gate: its verdict is not posted");
    return { outcome: "done", detail: "cancelled during the gate" };
  }
  await postVerdict(ctx, { runId: run.id, installationId: input.installationId }, result, config, deps);
  const { verdict } = result;
  await deps.runs.setStatus(run.id, verdict.ready ? "queued" : "needs_spec", { ticketType: verdict.ticket_type });
  if (verdict.ready) {
    const target = { runId: run.id, installationId: input.installationId, repository: input.repository, issue: input.issue };
    // the run job carries this trace on, so the gate and the rest of the run are one trace
    const trace = runTraceContext();
    await deps.enqueueRun({ ...target, ...(input.retry ? { fromHumanHead: true } : {}), ...(trace ? { trace } : {}) });
  }
  return { outcome: "done", detail: `gate: ${verdict.ready ? "ready" : "not ready"} (score ${verdict.score})` };
}

/** The run of this delivery, running; or why there is none to gate (one is active, or it already ended). */
async function createRun(ctx: IssueContext, input: GateRunInput, config: RepoConfig, deps: GateRunDeps): Promise<RunRow | StepResult> {
  const { gh, owner, repo, issue } = ctx;
  const created = await deps.runs.create({
    deliveryId: input.deliveryId,
    installationId: input.installationId,
    repositoryId: input.repository.id,
    owner,
    repo,
    issueNumber: issue,
    budgetUsdMicros: usdToMicros(config.budget.run_usd),
    authorizedBy: input.authorizedBy,
    ...(input.labelEventId !== undefined && { labelEventId: input.labelEventId }),
  });
  const run = created.run;
  if (!created.created && created.reason === "consumed")
    return { outcome: "ignored", detail: `this label event already started run ${run.id}: add the label again to start another` };
  if (!created.created && created.reason === "active") {
    if (input.edited) return { outcome: "ignored", detail: `run ${run.id} is already active: it works from what its gate read` };
    const where = "its progress is in the Tollgate comment above";
    await gh.comment(issue, `Tollgate is already working on this issue (run \`${run.id}\`): ${where}.`);
    return { outcome: "ignored", detail: `run ${run.id} is already active for ${owner}/${repo}#${issue}` };
  }
  if (!created.created && run.status !== "queued" && run.status !== "running") {
    return { outcome: "done", detail: `run ${run.id} already ended ${run.status}` };
  }
  await deps.runs.setStatus(run.id, "running");
  return run;
}

/**
 * The gate, as a checkpointed phase: a retried job does not pay for it twice. Its checkpoint
 * keeps the issue as the gate read it, which is what plan and execute read.
 */
async function theGate(
  ctx: IssueContext,
  runId: string,
  input: GateRunInput,
  config: RepoConfig,
  deps: GateRunDeps,
  log: Logger,
): Promise<GateCheckpoint> {
  const { gh, issue } = ctx;
  const phase = await new PhaseRunner(deps.phases, runId, log).run<GateCheckpoint>(PHASE.gate, 0, async () => {
    const model = config.tiers[config.phases.gate];
    await gh.upsertSticky(issue, `### Tollgate\n\nChecking whether this issue is specified well enough (spec gate on \`${model}\`)…`);
    const [data, comments, summary] = await Promise.all([input.issueData ?? gh.issue(issue), gh.comments(issue), gh.summary()]);
    const trusted = await instructing(comments, input.mayInstruct);
    const seen = input.seenAt?.getTime();
    const read = comments.filter((c) => trusted.has(c.author) || seen === undefined || Date.parse(c.updatedAt) <= seen);
    if (read.length < comments.length)
      log.info(
        { unread: comments.length - read.length },
        "comments by people without write access written after the authorising act are not read",
      );
    const text = issueText(data, read, trusted);
    if (text.removed.length) log.info({ removed: text.removed }, "hidden or secret-shaped text removed from the issue before the gate");
    const budgetMicros = usdToMicros(config.budget.run_usd);
    const context = { runId, installationId: input.installationId, iteration: 0 };
    const result = await runGate(deps.model(config, log, budgetMicros), { issue: text.text, repoSummary: summary }, context);
    return { ...result, issue: { title: data.title, text: text.text, textSha256: issueTextSha256(data) } };
  });
  return phase.value;
}

/** The authors of human comments who may instruct (write access), each asked once. */
async function instructing(comments: Array<{ author: string; authorIsBot: boolean }>, may: (login: string) => Promise<boolean>) {
  const authors = [...new Set(comments.filter((c) => !c.authorIsBot).map((c) => c.author))];
  const allowed = await Promise.all(authors.map(may));
  return new Set(authors.filter((_, i) => allowed[i]));
}

/** The verdict in the sticky comment, with the expected cost of such a run; `ai-needs-spec` on or off. */
async function postVerdict(
  ctx: IssueContext,
  run: { runId: string; installationId: number },
  result: GateCheckpoint,
  config: RepoConfig,
  deps: GateRunDeps,
): Promise<void> {
  const { gh, owner, repo, issue } = ctx;
  const { verdict } = result;
  const ticketType = verdict.ticket_type;
  const expected = await deps.history.expectedCost({
    installationId: run.installationId,
    owner,
    repo,
    ticketType,
    excludeRunId: run.runId,
  });
  if (verdict.ready) {
    await gh.removeLabel(issue, NEEDS_SPEC_LABEL);
  } else {
    await gh.ensureLabel(NEEDS_SPEC_LABEL, "d93f0b", "Tollgate: the issue needs more detail before work starts");
    await gh.addLabels(issue, [NEEDS_SPEC_LABEL]);
  }
  const status = verdict.ready ? readyStatus(await deps.queueInfo.waitingRuns()) : `not ready: labelled \`${NEEDS_SPEC_LABEL}\`.`;
  const comment = { verdict, gateCostMicros: result.costMicros, expected, status, needsSpecLabel: NEEDS_SPEC_LABEL };
  await gh.upsertSticky(issue, renderGateComment({ ...comment, triggerLabel: config.trigger.label }));
}
