/** `/status`: the active run's phase, round, spend and place in the queue (or how the last run ended). */
import { formatUsd } from "../llm/money.js";
import { jobIdForRun } from "../queue/job-id.js";
import { formatSpend } from "../report/progress.js";
import type { CommandHandler } from "./command.js";
import type { Command } from "./parse.js";

export const status: CommandHandler<Extract<Command, { name: "status" }>> = {
  access: "write",
  acts: true,
  async run(call) {
    const { deps, ctx, active } = call;
    if (!active) {
      const last = await deps.runs.latest(call.job.repository.id, ctx.issue);
      await call.reply(
        last ? `No run is active on this issue. The last one ended \`${last.status}\`.` : "Tollgate has not run on this issue.",
      );
      return { outcome: "done", detail: "status: none active" };
    }
    const [phase, costs] = await Promise.all([deps.phases.latest(active.id), deps.costs.phaseCosts(active.id)]);
    let where = phase ? `${phase.name}${phase.iteration ? ` (round ${phase.iteration})` : ""}, ${phase.status}` : "starting";
    if (active.status === "queued") where = `queued, number ${(await deps.queueInfo.runsAhead(jobIdForRun(active.id))) + 1} in line`;
    await call.reply(
      `Run \`${active.id}\`: ${where}. Spent ${formatSpend(costs)}${active.budget_usd_micros ? ` of ${formatUsd(active.budget_usd_micros)}` : ""}.`,
    );
    return { outcome: "done", detail: `status: ${where}`, runId: active.id };
  },
};
