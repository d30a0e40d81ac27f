/**
 * What the agent loop tells the model about its limits (the note in the task, the warning near
 * the end, the nudge after a reply without a tool call), and the pruning of old tool results.
 * Every text here is stable for given limits, so it does not break the cached prefix.
 */
import type { ContentBlock, Message, Usage } from "../llm/model.js";
import type { AgentLimits } from "./limits.js";

export interface PruneOptions {
  /** Elide once the context (the last call's input, cached or not) passes this many tokens. */
  aboveTokens: number;
  /** The newest turns whose tool results are always kept whole. */
  keepTurns: number;
}

export const ELIDED = "[elided: call the tool again if you need this]";
/** Results shorter than this are kept: eliding them saves less than it costs in a cache miss. */
const ELIDE_MIN_CHARS = 400;

/** The limits as the task states them. */
export function limitsNote(limits: AgentLimits, finish: string): string {
  const tokens = limits.maxTokens.toLocaleString("en-US");
  const minutes = Math.round(limits.maxMs / 60_000);
  return [
    "<limits>",
    `You have at most ${limits.maxTurns} turns (one turn is one reply of yours, with any number of tool calls: make independent calls in the same turn), ${tokens} tokens in all and ${minutes} minutes.`,
    `You will be told when few turns are left; on the last turn only \`${finish}\` is offered. Work that is not finished by then is judged as it is.`,
    "No human will answer during this work: do not ask questions or wait for confirmation. Decide, note what you assumed, and continue.",
    "</limits>",
  ].join("\n");
}

export function warningText(finish: string, turnsLeft: number): string {
  return turnsLeft <= 1
    ? `This is your last turn: only \`${finish}\` is offered. Call it now, with what you did and what is left.`
    : `${turnsLeft} turns left (this one included): wrap up and call \`${finish}\`.`;
}

export function nudgeText(finish: string): string {
  return `No human reads replies here and none will answer. Continue the work with your tools, or call \`${finish}\` if it is done.`;
}

/** The size of the context a call read: its input, cached or not. */
export function contextTokens(usage: Usage): number {
  return (usage.inputTokens ?? 0) + (usage.cacheReadTokens ?? 0) + (usage.cacheWriteTokens ?? 0);
}

/** Adds a text to the last message (a user message: the task, tool results or an earlier note). */
export function appendNote(messages: Message[], note: string): void {
  const last = messages.at(-1);
  if (!last || last.role !== "user") {
    messages.push({ role: "user", content: note });
    return;
  }
  const blocks: ContentBlock[] = typeof last.content === "string" ? [{ type: "text", text: last.content }] : [...last.content];
  blocks.push({ type: "text", text: note });
  messages[messages.length - 1] = { role: "user", content: blocks };
}

/**
 * Replaces the tool results older than the newest `keepTurns` turns with a short note. Returns
 * whether anything changed.
 */
export function elideOldResults(messages: Message[], keepTurns: number): boolean {
  // a turn is an assistant message and the user message after it
  const assistants = messages.flatMap((m, i) => (m.role === "assistant" ? [i] : []));
  const keepFrom = assistants.length > keepTurns ? assistants[assistants.length - keepTurns]! : 0;
  let changed = false;
  for (let i = 1; i < keepFrom; i++) {
    const message = messages[i]!;
    if (message.role !== "user" || typeof message.content === "string") continue;
    const content = message.content.map((block) => {
      if (block.type !== "tool_result" || resultLength(block) < ELIDE_MIN_CHARS) return block;
      changed = true;
      return { ...block, content: ELIDED };
    });
    messages[i] = { role: "user", content };
  }
  return changed;
}

function resultLength(block: ContentBlock): number {
  const content = (block as { content?: unknown }).content;
  return typeof content === "string" ? content.length : JSON.stringify(content ?? "").length;
}
