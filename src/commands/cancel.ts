/** `/cancel`: the active run stops at its next safe point. */
import { cancelActiveRun } from "../pipeline/cancel.js";
import { nothingActive, type CommandHandler } from "./command.js";
import type { Command } from "./parse.js";

export const cancel: CommandHandler<Extract<Command, { name: "cancel" }>> = {
  access: "write",
  acts: true,
  async run(call) {
    const { active } = call;
    if (!active) return nothingActive(call, "cancel");
    await cancelActiveRun(
      call.ctx,
      call.deps,
      active.id,
      `@${call.job.sender.login} commented \`/cancel\``,
      "Comment `/retry` to start over.",
    );
    await call.react("+1");
    return { outcome: "done", detail: `run ${active.id} cancelled`, runId: active.id };
  },
};
