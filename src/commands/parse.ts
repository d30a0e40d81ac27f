/**
 * Comment commands: a comment whose first line starts with `/` (outside a code block). Anything
 * else in a comment is conversation, not a command, so a `/retry` in the middle of a sentence or
 * a fenced block does nothing. Arguments are checked here; what they are checked against (the
 * installation's daily cap, the run's state) is the handler's business.
 */
import { REUSABLE_PHASES, type ReusablePhase } from "../phases/registry.js";

export const RETRY_PHASES = REUSABLE_PHASES;
export type RetryPhase = ReusablePhase;

export type Command =
  | { name: "retry"; from?: RetryPhase }
  | { name: "cancel" }
  | { name: "status" }
  | { name: "cost" }
  | { name: "approve" }
  | { name: "budget"; usd: number }
  | { name: "help" }
  /** A known command with arguments that do not fit: `problem` says why. */
  | { name: "invalid"; command: string; problem: string }
  | { name: "unknown"; command: string };

/** The largest budget a comment may set; the installation's daily cap bounds it further. */
export const MAX_BUDGET_USD = 10_000;

export function parseCommand(body: string | null | undefined): Command | null {
  const first = (body ?? "")
    .replace(/^\uFEFF/, "")
    .split(/\r?\n/, 1)[0]!
    .trim();
  const match = /^\/([a-z][a-z-]*)\b(.*)$/i.exec(first);
  if (!match) return null;
  const name = match[1]!.toLowerCase();
  const args = match[2]!.trim().split(/\s+/).filter(Boolean);
  const noArgs = (command: Command): Command =>
    args.length ? { name: "invalid", command: name, problem: `/${name} takes no arguments` } : command;
  switch (name) {
    case "retry": {
      if (args.length === 0) return { name: "retry" };
      const phase = args[0]!.toLowerCase();
      if (args.length > 1 || !(RETRY_PHASES as readonly string[]).includes(phase)) {
        return {
          name: "invalid",
          command: name,
          problem: `\`/retry ${args.join(" ")}\`: retry the whole run with \`/retry\`, or from a phase with \`/retry ${RETRY_PHASES.join("|")}\``,
        };
      }
      return { name: "retry", from: phase as RetryPhase };
    }
    case "budget": {
      const usd = args.length === 1 && /^\$?\d+(\.\d{1,2})?$/.test(args[0]!) ? Number(args[0]!.replace(/^\$/, "")) : NaN;
      if (!Number.isFinite(usd) || usd <= 0) {
        return {
          name: "invalid",
          command: name,
          problem: `\`/budget ${args.join(" ")}\`: give the run's new cap in dollars, e.g. \`/budget 12.50\``,
        };
      }
      if (usd > MAX_BUDGET_USD)
        return {
          name: "invalid",
          command: name,
          problem: `\`/budget ${args[0]}\` is more than Tollgate accepts ($${MAX_BUDGET_USD.toLocaleString("en-US")})`,
        };
      return { name: "budget", usd };
    }
    case "cancel":
    case "status":
    case "cost":
    case "approve":
    case "help":
      return noArgs({ name });
    default:
      return { name: "unknown", command: name };
  }
}

export const HELP = [
  "Tollgate's commands (the first line of a comment, from people with write access):",
  "",
  "- `/retry`: run the whole pipeline again; `/retry plan` or `/retry execute` starts from that phase and reuses what came before it (an approved plan is not paid for twice)",
  "- `/cancel`: stop the active run at the next safe point",
  "- `/status`: the active run's phase, round, spend and place in the queue",
  "- `/cost`: the cost table so far",
  "- `/approve`: start work on an issue the spec gate held back (maintainers and admins)",
  "- `/budget <usd>`: raise the active run's budget, up to the installation's daily cap",
  "- `/help`: this list",
].join("\n");
