/**
 * `/approve` (maintainers and admins): work starts on an issue the spec gate held back. The
 * override is recorded in the gate checkpoint of a new run, never in an active run's: while a
 * run is active (a gate in progress, work queued or running) nothing is approved or changed.
 */
import { NEEDS_SPEC_LABEL, type GateCheckpoint } from "../pipeline/gate-run.js";
import { PHASE } from "../phases/registry.js";
import { jobIdForRun } from "../queue/job-id.js";
import { queuedText } from "../report/gate-comment.js";
import { followUp, runActive, type CommandHandler } from "./command.js";
import type { Command } from "./parse.js";

export const approve: CommandHandler<Extract<Command, { name: "approve" }>> = {
  access: "maintain",
  acts: true,
  async run(call) {
    const { ctx, job, deps } = call;
    if (call.active) return runActive(call, call.active.id);
    const last = await deps.runs.latest(job.repository.id, ctx.issue);
    const gate = last && (await deps.phases.checkpoint<GateCheckpoint>(last.id, PHASE.gate, 0));
    if (!last || last.status !== "needs_spec" || !gate) {
      await call.reply("There is no held-back issue to approve: `/approve` overrides a spec gate that said the issue is not ready.");
      return { outcome: "refused", detail: "nothing to approve" };
    }
    // the approver vouches for the issue as they saw it, which must be what the gate read
    const read = gate.issue?.textSha256;
    if (job.issue.isPullRequest || !read || read !== job.issue.textSha256) {
      await call.reply(
        job.issue.isPullRequest
          ? "`/approve` approves the issue the spec gate read: comment it on the issue."
          : "The issue is not the one the spec gate read: it was edited since. `/approve` approves only the text the gate judged; comment `/retry` to check the issue as it is now.",
      );
      return { outcome: "refused", detail: "the issue changed since the gate read it" };
    }
    const started = await followUp(call, {
      previous: last.id,
      reuse: [PHASE.gate],
      // the override is recorded in the gate's checkpoint of the new run (and only there)
      amend: (id) => deps.phases.approveGate(id, job.sender.login),
    });
    // a run started meanwhile (a label, an edit, another command): it is left alone
    if ("active" in started) return runActive(call, started.active.id);
    await ctx.gh.removeLabel(ctx.issue, NEEDS_SPEC_LABEL);
    await call.react("+1");
    const ahead = await deps.queueInfo.runsAhead(jobIdForRun(started.queued));
    await ctx.gh.upsertSticky(
      ctx.issue,
      `### Tollgate: approved\n\n@${job.sender.login} approved this issue over the spec gate's verdict (score ${gate.verdict?.score ?? "?"}/100): ${ahead ? queuedText(ahead) : "planning starts shortly"}.`,
    );
    return { outcome: "done", detail: `gate overridden by ${job.sender.login}`, runId: started.queued };
  },
};
