/** What a comment command's handler is given, and what it answers. */
import type { Logger } from "pino";
import type { RepoConfig } from "../config/repo-config.js";
import type { Access, JobContext } from "../jobs/context.js";
import type { JobDeps } from "../jobs/deps.js";
import type { CommandJob } from "../queue/jobs.js";
import type { RunRow } from "../stores/runs.js";
import { queueFollowUpRun, type FollowUp, type FollowUpResult } from "../pipeline/follow-up.js";
import type { Command } from "./parse.js";

export interface CommandOutcome {
  outcome: "done" | "refused" | "invalid";
  detail: string;
  runId?: string;
}

/** One command, from someone allowed to give it, on the issue it steers (a PR's comments steer its issue). */
export interface CommandCall<C extends Command = Command> {
  command: C;
  ctx: JobContext;
  job: CommandJob;
  deps: JobDeps;
  log: Logger;
  /** A comment where the command was given. */
  reply(text: string): Promise<void>;
  /** A reaction on the command's comment. */
  react(content: "+1" | "confused"): Promise<void>;
}

/** A command that acts on the runs: it has the repo's settings and the active run, if any. */
export interface ActingCall<C extends Command = Command> extends CommandCall<C> {
  config: RepoConfig;
  active: RunRow | undefined;
}

export type CommandHandler<C extends Command = Command> =
  | { access: Access; acts: false; run(call: CommandCall<C>): Promise<CommandOutcome> }
  | { access: Access; acts: true; run(call: ActingCall<C>): Promise<CommandOutcome> };

/**
 * A new run of the issue that reuses phases of `previous` (`/retry plan|execute`, `/approve`),
 * authorised by the command's sender; or the active run in its way (nothing is touched).
 */
export function followUp(call: ActingCall, spec: Pick<FollowUp, "previous" | "reuse" | "amend">): Promise<FollowUpResult> {
  const { deps, job } = call;
  return queueFollowUpRun({
    runs: deps.runs,
    enqueueRun: (target) => deps.enqueueRun(target, job.deliveryId),
    ctx: call.ctx,
    cause: job,
    config: call.config,
    authorizedBy: job.sender.login,
    ...spec,
  });
}

/** The answer to a command that would start a run while one is active: nothing is changed. */
export async function runActive(call: CommandCall, runId: string): Promise<CommandOutcome> {
  await call.reply("A run is already active on this issue: `/cancel` it first, or wait for it to end.");
  return { outcome: "refused", detail: "a run is active", runId };
}

export async function nothingActive(call: CommandCall, what: string): Promise<CommandOutcome> {
  await call.reply(`No run is active on this issue, so there is nothing to ${what}.`);
  return { outcome: "refused", detail: "no active run" };
}
