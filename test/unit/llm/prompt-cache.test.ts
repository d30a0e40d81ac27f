import { cachedPrefix, cacheUse, MAX_BREAKPOINTS, withMovingBreakpoint } from "../../../src/llm/prompt-cache.js";
import type { Message } from "../../../src/llm/model.js";

const tools = [
  { name: "view", description: "View a file", input_schema: { type: "object", properties: { path: { type: "string" } } } },
  { name: "search", description: "Search the repo", input_schema: { type: "object", properties: { query: { type: "string" } } } },
];

describe("prompt caching helpers", () => {
  it("marks the last tool and the end of the system text (the stable context when there is one)", () => {
    const prefix = cachedPrefix({ tools, system: "You plan changes.", context: "repo map…" });
    expect(prefix.tools?.map((t) => t.cache_control)).toEqual([undefined, { type: "ephemeral" }]);
    expect(prefix.system).toEqual([
      { type: "text", text: "You plan changes." },
      { type: "text", text: "repo map…", cache_control: { type: "ephemeral" } },
    ]);
    expect(cachedPrefix({ system: "Review." }).system).toEqual([{ type: "text", text: "Review.", cache_control: { type: "ephemeral" } }]);
  });

  it("moves the conversation's two breakpoints to the newest turn, staying within 4 in all", () => {
    const prefix = cachedPrefix({ tools, system: "s", context: "c" });
    let messages: Message[] = [{ role: "user", content: "Plan issue #3" }];
    const turns: Message[][] = [];
    for (let turn = 0; turn < 4; turn++) {
      messages = withMovingBreakpoint(messages);
      turns.push(messages);
      const use = cacheUse({ ...prefix, messages });
      expect(use.breakpoints).toBeLessThanOrEqual(MAX_BREAKPOINTS);
      expect(use.breakpoints).toBe(turn === 0 ? 3 : 4);
      messages = [
        ...messages,
        { role: "assistant", content: [{ type: "tool_use", id: `t${turn}`, name: "view", input: { path: "a.ts" } }] },
        { role: "user", content: [{ type: "tool_result", tool_use_id: `t${turn}`, content: "file text" }] },
      ];
    }
    // the newest block and the assistant turn before it carry the two moving breakpoints; nothing earlier does
    const last = turns[3]!;
    const marked = last.flatMap((m) => (typeof m.content === "string" ? [] : m.content)).filter((b) => b.cache_control);
    expect(marked).toHaveLength(2);
    expect(marked[0]).toMatchObject({ type: "tool_use", id: "t2" });
    expect(marked[1]).toMatchObject({ type: "tool_result", tool_use_id: "t2" });
    // the first turn has only one message to mark
    expect(cacheUse({ ...prefix, messages: turns[0]! }).breakpoints).toBe(3);
  });

  it("keeps the prefix byte-identical from turn to turn, so it is read from the cache", () => {
    const a = JSON.stringify(cachedPrefix({ tools, system: "s", context: "c" }));
    const b = JSON.stringify(cachedPrefix({ tools, system: "s", context: "c" }));
    expect(a).toBe(b);
    // and turn k's messages, less the moving mark, start with turn k-1's
    const t1 = withMovingBreakpoint([{ role: "user", content: "x" }]);
    const t2 = withMovingBreakpoint([...t1, { role: "assistant", content: "y" }]);
    const strip = (m: Message[]) => JSON.stringify(m).replace(/,"cache_control":\{"type":"ephemeral"\}/g, "");
    expect(strip(t2).startsWith(strip(t1).slice(0, -1))).toBe(true);
  });

  it("reports 1-hour breakpoints", () => {
    expect(
      cacheUse({ messages: [{ role: "user", content: [{ type: "text", text: "x", cache_control: { type: "ephemeral", ttl: "1h" } }] }] }),
    ).toEqual({
      breakpoints: 1,
      oneHour: true,
    });
  });
});
