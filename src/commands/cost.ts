/** `/cost`: the cost table of every run of the issue so far. */
import { renderCostTable } from "../report/cost-table.js";
import type { CommandHandler } from "./command.js";
import type { Command } from "./parse.js";

export const cost: CommandHandler<Extract<Command, { name: "cost" }>> = {
  access: "write",
  acts: true,
  async run(call) {
    const { deps, ctx, config } = call;
    const ids = await deps.costs.runsOfIssue(ctx.owner, ctx.repo, ctx.issue);
    const rows = await deps.costs.costRows(ids);
    if (!rows.length) {
      await call.reply("No model call has been made for this issue yet.");
      return { outcome: "done", detail: "cost: none" };
    }
    const summaries = await deps.costs.runSummaries(ids);
    const table = renderCostTable({
      rows,
      prices: deps.prices,
      deepModel: config.tiers.deep,
      budgetMicros: summaries.at(-1)?.budgetMicros ?? null,
      iterations: summaries.reduce((s, r) => s + r.iterations, 0),
    });
    await call.reply(`### Tollgate: cost so far (${ids.length} run${ids.length === 1 ? "" : "s"})\n\n${table}`);
    return { outcome: "done", detail: `cost of ${ids.length} run(s)` };
  },
};
