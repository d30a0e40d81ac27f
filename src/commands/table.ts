/** Every comment command and its handler: one small module per command. */
import { approve } from "./approve.js";
import { budget } from "./budget.js";
import { cancel } from "./cancel.js";
import type { CommandHandler } from "./command.js";
import { cost } from "./cost.js";
import { help, invalid, unknown } from "./help.js";
import type { Command } from "./parse.js";
import { retry } from "./retry.js";
import { status } from "./status.js";

export const COMMANDS: { [N in Command["name"]]: CommandHandler<Extract<Command, { name: N }>> } = {
  help,
  unknown,
  invalid,
  status,
  cost,
  cancel,
  budget,
  retry,
  approve,
};
