/**
 * The pipeline after a ready gate, as its phases in order:
 *
 *   setup → baseline checks → plan → (execute → verify → review)* → publish
 *
 * The baseline is the verify commands on the starting commit (the verify phase's round 0): a
 * check that already fails there does not by itself start another round or fail the run.
 * Every phase goes through the one phase wrapper (`PhaseRunner`): checkpoints, attempts, timing
 * and progress live there, so a resumed run continues at its first unfinished phase. The loop
 * goes round until the checks and the review pass, the iteration cap, the same findings twice in
 * a row (no progress), or the budget. Review is skipped in a round whose checks failed: the next
 * round changes the code anyway, so that review would be paid for and thrown away.
 */
import type { Logger } from "pino";
import { BudgetExceededError } from "../llm/errors.js";
import { workTree, type PhaseEnv } from "../phases/agent-env.js";
import { FinalError } from "../errors.js";
import { runSetup, withSetup, type SetupInput, type SetupOutput, type SetupResult, type SetupTrust } from "../setup/setup.js";
import { runExecute, unfinishedUnits, type ExecuteOutput, type UnitReport } from "../phases/execute/execute.js";
import { runPlan } from "../phases/plan/plan.js";
import type { Plan } from "../phases/plan/plan-schema.js";
import { runReview, type Review } from "../phases/review/review.js";
import { runBaseline, runVerify, type CheckResult, type VerifyOutput } from "../phases/verify/verify.js";
import { withRunFolder } from "../workspace/run-folders.js";
import type { DroppedChange } from "../workspace/tree-guard.js";
import { HumanCommitError, Workspace, type Identity, type TokenSource } from "../workspace/workspace.js";
import { decideRound, type Decision, type StopStatus } from "./loop-decision.js";
import { fixFeedback } from "./fix-feedback.js";
import { RunCancelled, type PhaseRunner } from "./phase.js";
import { PHASE } from "../phases/registry.js";

/** The outside world of a run: where its code comes from and where its results go. */
export interface RunHost {
  /** Where the run clones from; `defaultBranch` when `branch` is not it (a revision's), for setup's trusted fill. */
  source: { remoteUrl: string; branch: string; defaultBranch?: string; token?: TokenSource };
  identity: Identity;
  /** Opens the pull request for the pushed branch, or updates the one that exists. */
  publish(pr: PublishRequest): Promise<Published>;
}

export interface PublishRequest {
  branch: string;
  title: string;
  body: string;
  draft: boolean;
}

export interface Published {
  url?: string;
  number?: number;
  /** The commit pushed (none when nothing changed). */
  commit?: string;
  /** Changes that were not published, and why. */
  dropped?: DroppedChange[];
  /** Set when someone else's commits were on the run's branch, so the work went to another. */
  moved?: MovedBranch;
}

export interface MovedBranch {
  from: string;
  to: string;
  /** Whose commits were there (author emails). */
  authors: string[];
}

export interface PublishState {
  setup?: SetupOutput;
  plan: Plan;
  execute?: ExecuteOutput;
  verify?: VerifyOutput;
  review?: Review;
  iterations: number;
  draftReason?: string;
  /** Changes that were not published, and why (a symlink out, a protected path, …). */
  dropped?: DroppedChange[];
  /** The branch the work went to instead of the run's, and why. */
  moved?: MovedBranch;
}

export interface PipelineRun {
  env: Omit<PhaseEnv, "iteration">;
  host: RunHost;
  phases: PhaseRunner;
  runsRoot: string;
  /** This attempt's folder under the run's (the worker's lease; "local" for `tollgate run`). */
  attempt?: string;
  /** The issue; `number` is absent for a local run (`tollgate run`). */
  issue: { number?: number; title: string; text: string };
  /** The branch the change is pushed to (`tollgate/issue-<n>` on GitHub). */
  branch: string;
  /** Started by `/retry`: build on the branch's head when someone else pushed there. */
  fromHumanHead?: boolean;
  /** A revision of the PR on `branch` (the source's branch): the review feedback to address. */
  revise?: { feedback: string };
  /** The dependency cache and the operator's setup variables (src/setup/setup.ts). */
  setup?: Pick<SetupInput, "cache" | "extraEnv" | "probe" | "toolchains">;
  /** The PR body (or report) for a state, rendered from the ledger once the last call is in. */
  report: (state: PublishState) => Promise<string>;
}

export type RunOutcome =
  /** A pull request was opened or updated (a draft unless the checks and the review passed). */
  | {
      status: "passed" | StopStatus;
      published: Published;
      draft: boolean;
      reason?: string;
      state: PublishState;
    }
  /** Stopped before anything worth publishing. */
  | { status: "cancelled" | "budget" | "human_commits"; reason: string };

export const branchFor = (issue: number) => `tollgate/issue-${issue}`;

export async function runPipeline(run: PipelineRun): Promise<RunOutcome> {
  const { env, phases, host, issue } = run;
  let phaseEnv = env; // with what setup decided and installed, once it ran
  const at = (iteration: number): PhaseEnv => ({ ...phaseEnv, iteration, log: env.log.child({ iteration }) });
  return withRunFolder(run.runsRoot, env.runId, run.attempt ?? "local", async (dir) => {
    const ws = await Workspace.clone({
      remoteUrl: host.source.remoteUrl,
      dir,
      branch: host.source.branch,
      identity: host.identity,
      token: host.source.token,
      protectedPaths: env.config.paths.protected,
    });
    const state: Partial<PublishState> & { iterations: number } = { iterations: 0 };
    let base: string | undefined;
    try {
      // setup: the checkout's dependencies, before anything is paid (again on every attempt)
      // (a resumed run sets up the commit its plan was made on, which the default branch may have left)
      const resumeAt = (await phases.checkpoint<{ base: string }>(run.revise ? PHASE.checkout : PHASE.plan, 0))?.base;
      const cloned = await ws.head();
      const start = resumeAt ?? (await startingPoint(run, ws));
      if ((await ws.head()) !== start) await ws.checkout(start);
      const trust = await setupTrust(run, ws, cloned, start);
      const setup = await phases.run(PHASE.setup, 0, () => setUp(run, ws, trust), { fresh: true });
      state.setup = setup.value.output;
      phaseEnv = { ...env, config: withSetup(env.config, setup.value.output), installed: setup.value.installed };
      // the checks on the starting commit, before any change: what already fails is not chased
      const baseline = (
        await phases.run(PHASE.verify, 0, async () => {
          const out = await runBaseline(at(0), workTree(phaseEnv.installed, ws, ws.dir, phaseEnv.config.env));
          await ws.resetTree();
          return out;
        })
      ).value;

      // plan
      const planned = await phases.run(PHASE.plan, 0, async () => ({ base: start, plan: await runPlan(at(0), ws.dir, issue.text) }));
      const plan = planned.value.plan;
      // a revision builds on the PR's branch as it was when the run started, and only on
      // Tollgate's own commits: once someone else has pushed there, revisions stop pushing
      if (run.revise) {
        const humans = await ws.foreignAuthors(planned.value.base);
        if (humans.length)
          throw new HumanCommitError(`${run.branch} has commits by someone else (${humans.join(", ")}), so revisions no longer push there`);
      }
      base = run.revise ? (await phases.run(PHASE.checkout, 0, async () => ({ base: await ws.head() }))).value.base : planned.value.base;
      state.plan = plan;
      if ((await ws.head()) !== base) await ws.checkout(base);

      const decision = await runRounds(run, ws, { base, plan, at, baseline: baseline.checks, state });
      return await publish(run, ws, base, state as PublishState, decision);
    } catch (error) {
      if (error instanceof RunCancelled || env.signal?.aborted)
        return { status: "cancelled", reason: error instanceof Error ? error.message : String(error) };
      if (error instanceof HumanCommitError) return { status: "human_commits", reason: error.message };
      if (!(error instanceof BudgetExceededError)) throw error;
      env.log.warn({ err: error }, "the run's budget stopped it");
      // the work of the finished rounds is kept, as a draft, when there is any
      if (!base || !state.plan || !state.execute?.changedFiles.length) return { status: "budget", reason: error.message };
      if ((await ws.diff(base)) !== state.execute.patch) await restoreTree(ws, base, state.execute.patch, env.log);
      return publish(run, ws, base, state as PublishState, {
        kind: "stop",
        status: "budget",
        reason: `the budget stopped the run: ${error.message}`,
      });
    }
  });
}

/**
 * execute → verify → review, until a decision ends the loop; `state` keeps the latest of each.
 * A fix round's feedback is built anew each round (fix-feedback.ts): a revision's review threads,
 * what the last round left to do, the change so far and the earlier rounds' summaries.
 */
async function runRounds(
  run: PipelineRun,
  ws: Workspace,
  loop: {
    base: string;
    plan: Plan;
    at: (iteration: number) => PhaseEnv;
    baseline: CheckResult[];
    state: Partial<PublishState> & { iterations: number };
  },
): Promise<Exclude<Decision, { kind: "again" }>> {
  const { phases, issue, env } = run;
  const { base, plan, state } = loop;
  const rounds: UnitReport[][] = [];
  let feedback: string | undefined = run.revise?.feedback;
  let previous: Decision | undefined;
  for (let iteration = 1; ; iteration++) {
    state.iterations = iteration;
    const at = loop.at(iteration);
    const executed = await phases.run(PHASE.execute, iteration, () => runExecute(at, ws, base, { issue: issue.text, plan, feedback }));
    if (executed.restored) await restoreTree(ws, base, executed.value.patch, env.log);
    state.execute = executed.value;
    rounds.push(executed.value.units);
    const verified = await phases.run(PHASE.verify, iteration, async () => {
      const out = await runVerify(at, workTree(at.installed, ws, ws.dir, at.config.env), loop.baseline);
      await ws.resetTree(); // what the checks wrote is never committed
      return out;
    });
    state.verify = verified.value;
    state.review =
      verified.value.passed || verified.value.notRun
        ? (
            await phases.run(PHASE.review, iteration, async () =>
              runReview(at, { issue: issue.text, plan, rounds, diff: await ws.reviewDiff(base), verify: verified.value }),
            )
          ).value
        : undefined;
    const decision = decideRound({
      iteration,
      max: env.config.loop.max_iterations,
      verify: verified.value,
      review: state.review,
      previous,
      // a unit that stopped at a limit makes a passing run a draft: its work is kept, and said to be partial
      unfinished: unfinishedUnits(executed.value).map((u) => u.title),
    });
    if (decision.kind !== "again") return decision;
    feedback = fixFeedback({ human: run.revise?.feedback, round: decision.feedback, diff: await ws.reviewDiff(base, 3), rounds });
    previous = decision;
  }
}

/**
 * Where a run starts: the default branch, or, for a run started by `/retry` after someone else
 * pushed to the issue's branch, their head (their work is built on, never overwritten).
 */
async function startingPoint(run: PipelineRun, ws: Workspace): Promise<string> {
  const head = await ws.head();
  if (!run.fromHumanHead) return head;
  const branchHead = await ws.fetchBranch(run.branch);
  if (!branchHead || !(await ws.foreignAuthors(head, branchHead)).length) return head;
  await ws.checkout(branchHead);
  run.env.log.info({ branch: run.branch, head: branchHead }, "someone else pushed to the branch: this retry starts from their head");
  return branchHead;
}

/**
 * Whether setup may give the starting commit's install scripts the way out: only when it is the
 * default branch's (the clone's head, or a commit before it). A revision's branch and a human's
 * head after `/retry` hold an agent's commits underneath: they install offline, from what the
 * default branch installs.
 */
async function setupTrust(run: PipelineRun, ws: Workspace, cloned: string, start: string): Promise<SetupTrust> {
  const defaultBranch = run.host.source.defaultBranch;
  if (run.revise) {
    const why = "a revision sets up the pull request's branch, which holds code an agent wrote";
    if (!defaultBranch) throw new Error("a revision needs the repository's default branch to set up from");
    return {
      trusted: false,
      why,
      base: async () => {
        const sha = await ws.fetchBranch(defaultBranch);
        if (!sha)
          throw new FinalError(`the default branch \`${defaultBranch}\` is gone, so a revision has nothing trusted to install from`);
        return sha;
      },
    };
  }
  if (start === cloned || (await ws.isAncestor(start, cloned))) return { trusted: true };
  return { trusted: false, why: "this run starts from commits pushed to the issue's branch, over an agent's", base: async () => cloned };
}

/** The setup step on this attempt's clone, its commands recorded with the run's. */
function setUp(run: PipelineRun, ws: Workspace, trust: SetupTrust): Promise<SetupResult> {
  const { env } = run;
  return runSetup({
    ws,
    config: env.config,
    sandbox: env.sandbox,
    trust,
    ...run.setup,
    record: env.records.commandRecorder({ runId: env.runId, phase: PHASE.setup, agent: "setup", cwd: ws.dir }),
    signal: env.signal,
    log: env.log.child({ phase: PHASE.setup }),
  });
}

/** How many `-<k>` branches a run tries before it gives up on finding one without someone else's commits. */
const MAX_ALTERNATE_BRANCHES = 20;

/**
 * Pushes to `branch`; when someone else's commits are there (never pushed over), to the first of
 * `tollgate/issue-<n>-2`, `-3`, … that has none, so that the run's work is kept and published.
 */
async function pushKeepingWork(ws: Workspace, branch: string, log: Logger): Promise<{ branch: string; moved?: MovedBranch }> {
  let refused: HumanCommitError;
  try {
    await ws.push(branch);
    return { branch };
  } catch (error) {
    if (!(error instanceof HumanCommitError)) throw error;
    refused = error;
  }
  const stem = /^(tollgate\/issue-\d+)-\d+$/.exec(branch)?.[1] ?? branch;
  for (let k = 2; k <= MAX_ALTERNATE_BRANCHES + 1; k++) {
    const candidate = `${stem}-${k}`;
    if (candidate === branch) continue;
    try {
      await ws.push(candidate);
    } catch (error) {
      if (error instanceof HumanCommitError) continue;
      throw error;
    }
    log.warn(
      { from: branch, to: candidate, why: refused.message },
      "someone else's commits are on the run's branch: the work went to another",
    );
    return { branch: candidate, moved: { from: branch, to: candidate, authors: refused.authors } };
  }
  throw refused;
}

/** A resumed run: the tree of a finished execute round is rebuilt from its checkpoint. */
async function restoreTree(ws: Workspace, base: string, patch: string, log: Logger): Promise<void> {
  await ws.checkout(base);
  await ws.applyAndCommit(patch, "Restore the work of the finished round");
  log.info("the tree of a finished execute round was restored from its checkpoint");
}

async function publish(
  run: PipelineRun,
  ws: Workspace,
  base: string,
  state: PublishState,
  decision: Exclude<Decision, { kind: "again" }>,
): Promise<RunOutcome> {
  const passed = decision.kind === "pass";
  const final: PublishState = { ...state, ...(decision.kind === "stop" ? { draftReason: decision.reason } : {}) };
  const branch = run.branch;
  const { number, title } = run.issue;
  const message = run.revise
    ? `Address review comments${number ? ` (#${number})` : ""}\n\nTollgate's revision after the review of its pull request.`
    : number
      ? `${title} (#${number})\n\nTollgate's change for issue #${number}.`
      : `${title}\n\nTollgate's change.`;
  const published = await run.phases.run(PHASE.publish, 0, async () => {
    const commit = (await ws.squash(base, message)) ?? undefined;
    // what a check refused, in execute (kept in its checkpoint) or just now, is said in the body
    const dropped = [...(state.execute?.dropped ?? []), ...ws.dropped].filter(
      (d, i, all) => all.findIndex((o) => o.path === d.path && o.why === d.why) === i,
    );
    // a revision answers on its PR's branch or not at all (HumanCommitError): moving it would open another PR
    const pushed = run.revise ? (await ws.push(branch), { branch }) : await pushKeepingWork(ws, branch, run.env.log);
    const body = await run.report({ ...final, dropped, ...(pushed.moved && { moved: pushed.moved }) });
    return {
      ...(await run.host.publish({ branch: pushed.branch, title: run.issue.title, body, draft: !passed })),
      commit,
      dropped,
      ...(pushed.moved && { moved: pushed.moved }),
    };
  });
  const done: PublishState = { ...final, dropped: published.value.dropped, ...(published.value.moved && { moved: published.value.moved }) };
  return passed
    ? { status: "passed", published: published.value, draft: false, state: done }
    : {
        status: (decision as { status: StopStatus }).status,
        published: published.value,
        draft: true,
        reason: final.draftReason,
        state: done,
      };
}
