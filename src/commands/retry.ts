/**
 * `/retry`: the whole run again, gate included; `/retry plan` or `/retry execute`: a new run
 * that reuses the phases before that one from the last run that had them.
 */
import { vouchedText } from "../pipeline/text-authority.js";
import { gateRun, type GateCheckpoint } from "../pipeline/gate-run.js";
import { PHASE, phasesBefore, type ReusablePhase } from "../phases/registry.js";
import type { Verdict } from "../phases/gate/verdict.js";
import { jobIdForRun } from "../queue/job-id.js";
import { queuedText } from "../report/gate-comment.js";
import { followUp, runActive, type ActingCall, type CommandHandler, type CommandOutcome } from "./command.js";
import type { Command } from "./parse.js";

type Retry = Extract<Command, { name: "retry" }>;

export const retry: CommandHandler<Retry> = {
  access: "write",
  acts: true,
  async run(call) {
    if (call.active) return runActive(call, call.active.id);
    const from = call.command.from;
    return from && from !== PHASE.gate ? retryFrom(call, from) : retryAll(call);
  },
};

/**
 * The whole run again, as the trigger label would start it (src/pipeline/gate-run.ts), on the
 * text the `/retry`er saw: on the issue, the text when they commented; on a pull request, the
 * text the issue's last gate read (src/pipeline/text-authority.ts).
 */
async function retryAll(call: ActingCall<Retry>): Promise<CommandOutcome> {
  const { ctx, job, deps } = call;
  const data = await ctx.gh.issue(ctx.issue);
  const seen = job.issue.isPullRequest ? await lastGatedText(call) : job.issue.textSha256;
  const text = await vouchedText(ctx, deps.deliveries, data, { login: job.sender.login, textSha256: seen, seenAt: job.issue.seenAt });
  if ("refused" in text) {
    const where = job.issue.isPullRequest ? "on the issue" : "again";
    await call.reply(`Tollgate did not retry: ${text.refused}. Comment \`/retry\` ${where} once you have read the issue as it is now.`);
    return { outcome: "refused", detail: `retry: ${text.refused}` };
  }
  const input = {
    deliveryId: job.deliveryId,
    installationId: job.installationId,
    repository: job.repository,
    issue: { number: ctx.issue, title: data.title },
    retry: true,
    authorizedBy: job.sender.login,
    ...(text.seenAt && { seenAt: text.seenAt }),
    issueData: data,
    mayInstruct: async (login: string) => (await ctx.may(login, "write")).allowed,
  };
  const started = await gateRun(
    ctx,
    input,
    call.config,
    { ...deps, enqueueRun: (target) => deps.enqueueRun(target, job.deliveryId) },
    call.log,
  );
  await call.react("+1");
  return { outcome: started.outcome === "failed" ? "refused" : "done", detail: `retry: ${started.detail ?? started.outcome}` };
}

/** The hash of the text the issue's last gate read; "" (matching no text) when none is known. */
async function lastGatedText(call: ActingCall<Retry>): Promise<string> {
  const last = await call.deps.runs.latest(call.job.repository.id, call.ctx.issue);
  const gate = last && (await call.deps.phases.checkpoint<GateCheckpoint>(last.id, PHASE.gate, 0));
  return gate?.issue?.textSha256 ?? "";
}

async function retryFrom(call: ActingCall<Retry>, from: Exclude<ReusablePhase, "gate">): Promise<CommandOutcome> {
  const { ctx, job, deps } = call;
  const reuse = phasesBefore(from);
  const source = await deps.runs.lastWithPhase(job.repository.id, ctx.issue, reuse.at(-1)!);
  const gate = source ? await deps.phases.checkpoint<{ verdict?: Verdict }>(source, PHASE.gate, 0) : undefined;
  if (!source || !gate?.verdict?.ready) {
    await call.reply(
      `There is no ${from === PHASE.plan ? "passed spec gate" : "plan"} to start from on this issue: comment \`/retry\` to run everything${from === PHASE.plan ? ", or `/approve` to override the gate" : ""}.`,
    );
    return { outcome: "refused", detail: `nothing to retry ${from} from` };
  }
  const started = await followUp(call, { previous: source, reuse });
  if ("active" in started) return runActive(call, started.active.id);
  const runId = started.queued;
  await call.react("+1");
  const ahead = await deps.queueInfo.runsAhead(jobIdForRun(runId));
  await call.reply(
    `Retrying from ${from}: run \`${runId}\` reuses the ${reuse.join(" and ")} of run \`${source}\`${ahead ? `; it is ${queuedText(ahead)}` : ""}.`,
  );
  return { outcome: "done", detail: `retry from ${from}`, runId };
}
