/** `/help`, and the answers to a command Tollgate does not know or whose arguments do not fit. */
import type { CommandHandler } from "./command.js";
import { HELP, type Command } from "./parse.js";

export const help: CommandHandler<Extract<Command, { name: "help" }>> = {
  access: "write",
  acts: false,
  async run(call) {
    await call.reply(HELP);
    return { outcome: "done", detail: "help" };
  },
};

export const unknown: CommandHandler<Extract<Command, { name: "unknown" }>> = {
  access: "write",
  acts: false,
  async run(call) {
    await call.react("confused");
    await call.reply(`\`/${call.command.command}\` is not a Tollgate command.\n\n${HELP}`);
    return { outcome: "invalid", detail: `unknown command /${call.command.command}` };
  },
};

export const invalid: CommandHandler<Extract<Command, { name: "invalid" }>> = {
  access: "write",
  acts: false,
  async run(call) {
    await call.react("confused");
    await call.reply(`${call.command.problem}.\n\n${HELP}`);
    return { outcome: "invalid", detail: call.command.problem };
  },
};
