/** What a comment command's handler is given, and what it answers. */
import type { Logger } from "pino";
import type { RepoConfig } from "../config/repo-config.js";
import type { Access, JobContext } from "../jobs/context.js";
import type { JobDeps } from "../jobs/deps.js";
import type { CommandJob } from "../queue/jobs.js";
import type { RunRow } from "../stores/runs.js";
import { queueFollowUpRun, type FollowUp } from "../pipeline/follow-up.js";
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

/** A new run of the issue that reuses phases of `previous` (`/retry plan|execute`, `/approve`). */
export function followUp(call: ActingCall, spec: Pick<FollowUp, "previous" | "reuse" | "amend">): Promise<string> {
  const { deps, job } = call;
  return queueFollowUpRun({
    runs: deps.runs,
    enqueueRun: (target) => deps.enqueueRun(target, job.deliveryId),
    ctx: call.ctx,
    cause: job,
    config: call.config,
    ...spec,
  });
}

export async function nothingActive(call: CommandCall, what: string): Promise<CommandOutcome> {
  await call.reply(`No run is active on this issue, so there is nothing to ${what}.`);
  return { outcome: "refused", detail: "no active run" };
}
