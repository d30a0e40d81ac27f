/**
 * Prompt caching. The request prefix (tools → system → messages) is cached up to each
 * `cache_control` breakpoint, byte for byte. Anthropic allows 4 breakpoints per request, and a
 * lookup finds an earlier entry only up to 20 blocks before a breakpoint. Tollgate marks:
 *   - the last tool (shared by every agent with the same tools, where the model's minimum
 *     cacheable length allows: 1,024 tokens on Sonnet, 4,096 on Opus 4.5+ and Haiku 4.5);
 *   - the end of the system text: the stable context (a repo map) when there is one, else the
 *     system prompt (a mark on the system prompt before the map bought nothing the map's did not);
 *   - in an agent loop, two that move: the newest message, and the assistant turn before it. A turn
 *     of many parallel tool calls adds more than 20 blocks (a text, N calls, N results); the
 *     assistant's mark sits within 20 blocks of the entry the previous request wrote, so the
 *     conversation so far is still read, not written again at 1.25×.
 * Turn k then pays full price only for what turn k adds.
 */
import type { CacheControl, ContentBlock, Message, ModelRequest, TextBlock, ToolDefinition } from "./model.js";

export const MAX_BREAKPOINTS = 4;
const EPHEMERAL: CacheControl = { type: "ephemeral" };

export interface CachedPrefix {
  tools?: ToolDefinition[];
  system: TextBlock[];
}

/**
 * The cached prefix: the last tool and the end of the system text carry a breakpoint. Only stable
 * text belongs here (no timestamps, ids or per-turn data): any change invalidates this level and
 * everything after it.
 */
export function cachedPrefix(parts: { tools?: ToolDefinition[]; system: string; context?: string }): CachedPrefix {
  const tools = parts.tools?.length
    ? parts.tools.map((tool, i) => (i === parts.tools!.length - 1 ? { ...tool, cache_control: EPHEMERAL } : stripTool(tool)))
    : undefined;
  const system: TextBlock[] = parts.context
    ? [
        { type: "text", text: parts.system },
        { type: "text", text: parts.context, cache_control: EPHEMERAL },
      ]
    : [{ type: "text", text: parts.system, cache_control: EPHEMERAL }];
  return { ...(tools ? { tools } : {}), system };
}

/**
 * The conversation with its two moving breakpoints: the last block of the newest message, and the
 * last block of the newest assistant message before it (when there is one).
 */
export function withMovingBreakpoint(messages: Message[]): Message[] {
  const newest = messages.length - 1;
  let assistant = -1;
  for (let i = newest - 1; i >= 0 && assistant < 0; i--) if (messages[i]!.role === "assistant") assistant = i;
  return messages.map((message, i) => {
    const blocks: ContentBlock[] = typeof message.content === "string" ? [{ type: "text", text: message.content }] : message.content;
    const marked = i === newest || i === assistant;
    return {
      role: message.role,
      content: blocks.map((block, j) => {
        const { cache_control: _drop, ...rest } = block;
        return marked && j === blocks.length - 1 ? ({ ...rest, cache_control: EPHEMERAL } as ContentBlock) : (rest as ContentBlock);
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
