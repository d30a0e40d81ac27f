/**
 * Prompt caching. The request prefix (tools → system → messages) is cached up to each
 * `cache_control` breakpoint, byte for byte. Tollgate marks at most three stable breakpoints
 * (the tools, the system prompt, the stable context such as a repo map) and one that moves to
 * the newest turn of an agent loop, so turn k pays full price only for what turn k adds.
 * Anthropic allows 4 breakpoints per request.
 */
import type { CacheControl, ContentBlock, Message, ModelRequest, TextBlock, ToolDefinition } from "./model.js";

export const MAX_BREAKPOINTS = 4;
const EPHEMERAL: CacheControl = { type: "ephemeral" };

export interface CachedPrefix {
  tools?: ToolDefinition[];
  system: TextBlock[];
}

/**
 * The cached prefix: the last tool, the system prompt and the stable context each end with a
 * breakpoint. Only stable text belongs here (no timestamps, ids or per-turn data): any change
 * invalidates this level and everything after it.
 */
export function cachedPrefix(parts: { tools?: ToolDefinition[]; system: string; context?: string }): CachedPrefix {
  const tools = parts.tools?.length
    ? parts.tools.map((tool, i) => (i === parts.tools!.length - 1 ? { ...tool, cache_control: EPHEMERAL } : stripTool(tool)))
    : undefined;
  const system: TextBlock[] = [{ type: "text", text: parts.system, cache_control: EPHEMERAL }];
  if (parts.context) system.push({ type: "text", text: parts.context, cache_control: EPHEMERAL });
  return { ...(tools ? { tools } : {}), system };
}

/** The conversation with its one moving breakpoint on the last block of the newest message. */
export function withMovingBreakpoint(messages: Message[]): Message[] {
  return messages.map((message, i) => {
    const blocks: ContentBlock[] = typeof message.content === "string" ? [{ type: "text", text: message.content }] : message.content;
    const last = i === messages.length - 1;
    return {
      role: message.role,
      content: blocks.map((block, j) => {
        const { cache_control: _drop, ...rest } = block;
        return last && j === blocks.length - 1 ? ({ ...rest, cache_control: EPHEMERAL } as ContentBlock) : (rest as ContentBlock);
      }),
    };
  });
}

/** How a request uses the cache: how many breakpoints, and whether any asks for 1 hour. */
export function cacheUse(request: Pick<ModelRequest, "tools" | "system" | "messages">): { breakpoints: number; oneHour: boolean } {
  const marks: CacheControl[] = [];
  for (const tool of request.tools ?? []) if (tool.cache_control) marks.push(tool.cache_control);
  if (Array.isArray(request.system)) for (const block of request.system) if (block.cache_control) marks.push(block.cache_control);
  for (const message of request.messages) {
    if (typeof message.content === "string") continue;
    for (const block of message.content) if (block.cache_control) marks.push(block.cache_control);
  }
  return { breakpoints: marks.length, oneHour: marks.some((m) => m.ttl === "1h") };
}

function stripTool(tool: ToolDefinition): ToolDefinition {
  const { cache_control: _drop, ...rest } = tool;
  return rest as ToolDefinition;
}
