/** `/budget <usd>`: raises the active run's budget, up to the installation's daily cap. */
import { formatUsd, usdToMicros } from "../llm/money.js";
import { nothingActive, type CommandHandler } from "./command.js";
import type { Command } from "./parse.js";

export const budget: CommandHandler<Extract<Command, { name: "budget" }>> = {
  access: "write",
  acts: true,
  async run(call) {
    const { active, config, command } = call;
    if (!active) return nothingActive(call, "raise the budget of");
    const micros = usdToMicros(command.usd);
    const daily = usdToMicros(config.budget.daily_usd);
    const current = active.budget_usd_micros ?? usdToMicros(config.budget.run_usd);
    if (micros > daily) {
      await call.reply(
        `\`/budget ${command.usd}\`: a run's budget cannot pass the installation's daily cap of ${formatUsd(daily)} (\`budget.daily_usd\`).`,
      );
      return { outcome: "refused", detail: "over the daily cap", runId: active.id };
    }
    if (micros <= current) {
      await call.reply(`\`/budget ${command.usd}\`: the run's budget is already ${formatUsd(current)}; \`/budget\` raises it.`);
      return { outcome: "refused", detail: "not a raise", runId: active.id };
    }
    await call.deps.runs.setBudget(active.id, micros);
    await call.react("+1");
    await call.reply(`The run's budget is now ${formatUsd(micros)} (it was ${formatUsd(current)}), raised by @${call.job.sender.login}.`);
    return { outcome: "done", detail: `budget ${formatUsd(current)} → ${formatUsd(micros)}`, runId: active.id };
  },
};
