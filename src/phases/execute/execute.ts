/**
 * The execute phase (`standard`). Round 1: one agent per work unit, each in its own worktree, up
 * to `concurrency` at once; their branches are merged in plan order, and a unit that conflicts
 * is redone on the merged tree. Later rounds: one agent on the merged tree with the feedback of
 * the failed checks and the review (the units' split no longer holds once their work is merged).
 */
import pMap from "p-map";
import type { DroppedChange } from "../../workspace/tree-guard.js";
import type { Workspace } from "../../workspace/workspace.js";
import { workTree, type PhaseEnv } from "../agent-env.js";
import type { Plan, WorkUnit } from "../plan/plan-schema.js";
import { runUnit, type UnitOutput } from "./unit.js";
import type { ThreadAnswer } from "./finish.js";
import { FinalError } from "../../errors.js";

export interface UnitReport {
  id: string;
  title: string;
  /** What the agent said it did, or why it changed nothing. */
  summary: string;
  changed: boolean;
  /** Files of other units this one conflicted with before it was redone. */
  conflicts?: string[];
  /**
   * Why the agent stopped without calling finish_unit (its turn, token or time limit, a refusal,
   * too many mistakes); absent when it finished. Its work so far is committed and merged like a
   * finished unit's, and verify and review judge it; a run with such a unit ends as a draft.
   */
  unfinished?: string;
  /** The unit's answers to the revision's review threads, by thread id (T1, T2, …). */
  answers?: ThreadAnswer[];
  /** What the agent decided without being sure, for the reviewer and the PR body. */
  openQuestions?: string[];
}

export interface ExecuteOutput {
  units: UnitReport[];
  /** Every change since the run's base, as a patch: the checkpoint a resumed run restores. */
  patch: string;
  changedFiles: string[];
  /** Changes refused at a commit (a symlink out, a protected path, …), with why. */
  dropped?: DroppedChange[];
}

export class ExecuteError extends FinalError {
  override name = "ExecuteError";
}

/** The units of a round that stopped without finishing (the orchestrator makes such a run a draft). */
export function unfinishedUnits(out: Pick<ExecuteOutput, "units">): UnitReport[] {
  return out.units.filter((u) => u.unfinished !== undefined);
}

function reportOf(out: UnitOutput): Omit<UnitReport, "id" | "title" | "changed"> {
  return {
    summary: out.summary,
    ...(out.unfinished !== undefined && { unfinished: out.unfinished }),
    ...(out.answers && { answers: out.answers }),
    ...(out.openQuestions && { openQuestions: out.openQuestions }),
  };
}

/** A report without undefined fields: it is stored as the round's checkpoint (JSON) and compared in tests. */
function dropUndefined(report: UnitReport): UnitReport {
  return Object.fromEntries(Object.entries(report).filter(([, v]) => v !== undefined)) as unknown as UnitReport;
}

/** The round-2+ work unit: the whole change, with the feedback. */
export function fixUnit(plan: Plan): WorkUnit {
  return {
    id: "fix",
    title: "Address the feedback on the change",
    instructions:
      "The plan's work units are merged in this tree. Fix what the feedback reports, keeping the plan's intent; do not redo work that is already right.",
    files: plan.files,
  };
}

export async function runExecute(
  env: PhaseEnv,
  ws: Workspace,
  base: string,
  input: { issue: string; plan: Plan; feedback?: string },
): Promise<ExecuteOutput> {
  const units = input.feedback ? [fixUnit(input.plan)] : input.plan.work_units;
  const round = env.iteration;
  const branchOf = (unit: WorkUnit, attempt = 1) => `tollgate/work/${round}/${unit.id}${attempt > 1 ? `-${attempt}` : ""}`;

  const attempt = async (unit: WorkUnit, n: number, redo?: string) => {
    const dir = await ws.addWorktree(`${round}-${unit.id}-${n}`, branchOf(unit, n));
    try {
      const tree = workTree(env.installed, ws, dir, env.config.env);
      const out = await runUnit(env, tree, { base, issue: input.issue, plan: input.plan, unit, feedback: input.feedback, redo });
      // an unfinished unit's work is committed too: verify and review judge it, nothing is thrown away
      const sha = await ws.commitAll(`${unit.title} (${unit.id})${out.unfinished ? " (unfinished)" : ""}`, dir);
      return { ...reportOf(out), changed: sha !== null };
    } finally {
      await ws.removeWorktree(dir);
    }
  };

  const first = await pMap(units, (unit) => attempt(unit, 1), { concurrency: env.config.concurrency, signal: env.signal });
  const reports: UnitReport[] = [];
  for (const [i, unit] of units.entries()) {
    const result = first[i]!;
    const report: UnitReport = { id: unit.id, title: unit.title, ...result };
    if (result.changed) {
      const merged = await ws.merge(branchOf(unit), `Merge work unit ${unit.id}`);
      if (!merged.merged) {
        env.log.info({ unit: unit.id, conflicts: merged.conflicts }, "work unit conflicts with the merged tree: redoing it there");
        report.conflicts = merged.conflicts;
        const redo = `An earlier attempt at this unit conflicted with the other units' work in ${merged.conflicts.join(", ")}. This tree already contains their work: make your unit's change on top of it.`;
        const again = await attempt(unit, 2, redo);
        Object.assign(report, { unfinished: undefined, answers: undefined, openQuestions: undefined }, again);
        if (again.changed) {
          const second = await ws.merge(branchOf(unit, 2), `Merge work unit ${unit.id} (redone)`);
          if (!second.merged)
            throw new ExecuteError(
              `work unit ${unit.id} conflicts with the merged tree even when redone on it (${second.conflicts.join(", ")})`,
            );
        }
      }
    }
    if (!report.changed) env.log.info({ unit: unit.id, why: report.summary }, "work unit changed nothing");
    reports.push(report);
  }
  return {
    units: reports.map(dropUndefined),
    patch: await ws.diff(base),
    changedFiles: await ws.changedFiles(base),
    ...(ws.dropped.length ? { dropped: [...ws.dropped] } : {}),
  };
}
