/**
 * `/budget <usd>`: raises the active run's budget, up to the most a run may spend: the operator's
 * per-run ceiling and the installation's daily cap (both the operator's; a repository's config
 * may only lower them).
 */
import { capsInForce } from "../llm/budget.js";
import { formatUsd, usdToMicros } from "../llm/money.js";
import { nothingActive, type CommandHandler } from "./command.js";
import type { Command } from "./parse.js";

export const budget: CommandHandler<Extract<Command, { name: "budget" }>> = {
  access: "write",
  acts: true,
  async run(call) {
    const { active, config, command, deps } = call;
    if (!active) return nothingActive(call, "raise the budget of");
    const micros = usdToMicros(command.usd);
    const repoDaily = config.budget.daily_usd === undefined ? undefined : usdToMicros(config.budget.daily_usd);
    const installation = await deps.budget.caps(call.job.installationId);
    const caps = capsInForce({ dailyMicros: repoDaily }, deps.operatorCaps, installation);
    const current = active.budget_usd_micros ?? usdToMicros(config.budget.run_usd);
    const ceiling = Math.min(caps.runMicros, caps.dailyMicros);
    if (micros > ceiling) {
      const which = caps.runMicros <= caps.dailyMicros ? "the most a run may spend here" : "the installation's daily cap";
      await call.reply(`\`/budget ${command.usd}\`: a run's budget cannot pass ${which}, ${formatUsd(ceiling)} (set by the operator).`);
      return { outcome: "refused", detail: `over the cap of ${formatUsd(ceiling)}`, runId: active.id };
    }
    if (micros <= current) {
      await call.reply(`\`/budget ${command.usd}\`: the run's budget is already ${formatUsd(current)}; \`/budget\` raises it.`);
      return { outcome: "refused", detail: "not a raise", runId: active.id };
    }
    await deps.runs.setBudget(active.id, micros);
    await call.react("+1");
    await call.reply(`The run's budget is now ${formatUsd(micros)} (it was ${formatUsd(current)}), raised by @${call.job.sender.login}.`);
    return { outcome: "done", detail: `budget ${formatUsd(current)} → ${formatUsd(micros)}`, runId: active.id };
  },
};
