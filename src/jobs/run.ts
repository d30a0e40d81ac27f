/**
 * The run queue: a run past its gate, carried out (or resumed) by a worker. The run's row says
 * whether there is anything left to do; the settings are read again (they may have changed
 * since the gate); the pipeline does the rest (src/pipeline/carry-out.ts).
 */
import { randomUUID } from "node:crypto";
import type { Logger } from "pino";
import { RepoConfigError } from "../config/repo-config.js";
import { carryOut } from "../pipeline/carry-out.js";
import type { RunJob } from "../queue/jobs.js";
import type { JobResult } from "../queue/worker.js";
import { JobContext } from "./context.js";
import type { RunJobDeps } from "./deps.js";

export async function handleRun(job: RunJob, deps: RunJobDeps, log: Logger): Promise<JobResult> {
  const lease = randomUUID();
  const run = await deps.runs.claim(job.runId, lease, job.restart);
  if (!run) return { outcome: "ignored", detail: `run ${job.runId} is not this job's to carry out (${await whyNot(job, deps)})` };
  const runLog = log.child({ run: run.id, restart: job.restart });
  const ctx = await JobContext.open(deps.github, job);
  const config = await ctx.settings();
  if (config instanceof RepoConfigError) {
    await ctx.gh.upsertSticky(
      ctx.issue,
      `### Tollgate stopped\n\nThe repo's settings became invalid after the gate, so the run stopped:\n\n${config.problems.map((p) => `- ${p}`).join("\n")}`,
    );
    await deps.runs.setStatus(run.id, "failed", { error: config.message });
    return { outcome: "failed", detail: config.message };
  }
  const identity = deps.identity ?? (await deps.appIdentity?.(ctx.octokit));
  return carryOut(ctx, run, lease, job, config, identity ? { ...deps, identity } : deps, runLog);
}

async function whyNot(job: RunJob, deps: Pick<RunJobDeps, "runs">): Promise<string> {
  return (await runHandled(job, deps)) ?? "it was just taken";
}

/** Whether a run job has anything left to do: not when the run ended, or a newer job took it over. */
export async function runHandled(job: RunJob, deps: Pick<RunJobDeps, "runs">): Promise<string | undefined> {
  const run = await deps.runs.get(job.runId);
  if (!run) return "the run does not exist";
  if (run.status !== "queued" && run.status !== "running") return `run ${run.status}`;
  return run.restarts > job.restart ? `run taken over by restart ${run.restarts}` : undefined;
}
