// bench/cache-share: what share of an agent loop's input tokens Anthropic's prompt cache would
// serve, given how Tollgate lays out its requests (src/llm/prompt-cache.ts, src/agents/loop.ts).
//
// It builds the requests of 10-turn loops (one, four and twelve tool calls per turn) (the real tool definitions, a system prompt, a repo
// map as stable context, and turns of tool calls and results), and replays them against a model
// of the documented caching rules:
//   - the prefix is tools → system → messages, matched byte for byte;
//   - a request writes a cache entry at each of its breakpoints (at most 4);
//   - a lookup hits the longest prefix that ends at a block boundary up to 20 blocks before one of
//     the request's breakpoints and was written before;
//   - a prefix shorter than the model's minimum (4,096 tokens for Opus 4.5+ and Haiku 4.5,
//     1,024 for Sonnet 4.x) is never cached.
// Tokens are estimated at 4 characters each, the same for every part, so shares are fair.
//
//   npm run build && node bench/cache-share.mjs
import { createHash } from "node:crypto";
import { LIST_FILES_TOOL, SEARCH_TOOL } from "../dist/agents/tools/repo-search.js";
import { TEXT_EDITOR_TOOL } from "../dist/agents/tools/text-editor.js";
import { cachedPrefix, withMovingBreakpoint } from "../dist/llm/prompt-cache.js";

const tokens = (value) => Math.ceil(JSON.stringify(value).length / 4);
const sha = (value) => createHash("sha256").update(JSON.stringify(value)).digest("hex");

/** The request as a list of blocks in prefix order, each marked when it carries a breakpoint. */
function blocks(request) {
  const out = [];
  for (const tool of request.tools) out.push({ value: { tool: { ...tool, cache_control: undefined } }, mark: Boolean(tool.cache_control) });
  for (const block of request.system)
    out.push({ value: { system: { ...block, cache_control: undefined } }, mark: Boolean(block.cache_control) });
  for (const message of request.messages) {
    const content = typeof message.content === "string" ? [{ type: "text", text: message.content }] : message.content;
    content.forEach((block, i) =>
      out.push({ value: { role: message.role, i, block: { ...block, cache_control: undefined } }, mark: Boolean(block.cache_control) }),
    );
  }
  return out;
}

function simulate(requests, minimum) {
  const cache = new Set();
  return requests.map((request) => {
    const list = blocks(request);
    const prefixHash = [];
    const prefixTokens = [];
    let running = "";
    let count = 0;
    for (const b of list) {
      running = sha([running, b.value]);
      count += tokens(b.value);
      prefixHash.push(running);
      prefixTokens.push(count);
    }
    const total = count;
    const marks = list.map((b, i) => (b.mark ? i : -1)).filter((i) => i >= 0);
    let read = 0;
    for (const m of marks) {
      for (let i = m; i >= Math.max(0, m - 20); i--) {
        if (cache.has(prefixHash[i]) && prefixTokens[i] > read) read = prefixTokens[i];
      }
    }
    let written = 0;
    for (const m of marks) {
      if (prefixTokens[m] >= minimum && !cache.has(prefixHash[m])) {
        cache.add(prefixHash[m]);
        written = Math.max(written, prefixTokens[m] - read);
      }
    }
    return { total, read, written, share: read / total };
  });
}

// A realistic execute agent: four tools, a ~1,500-token system prompt, a ~2,000-token repo map.
const tools = [
  TEXT_EDITOR_TOOL,
  LIST_FILES_TOOL,
  SEARCH_TOOL,
  {
    name: "run_command",
    description: "Run one allowed command (argv, no shell).",
    input_schema: { type: "object", properties: { argv: { type: "array", items: { type: "string" } } }, required: ["argv"] },
  },
];
const system =
  "You are an execution agent of Tollgate. Change the repository to do the work unit below, run the checks, and stop when they pass. ".repeat(
    45,
  );
const repoMap = Array.from(
  { length: 160 },
  (_, i) => `src/module${i}.ts: export function handler${i}(input: Input${i}): Output${i}; class Service${i}`,
).join("\n");
/** The layout before issue 17: system and map both marked, one moving breakpoint on the newest message. */
function oldPrefix() {
  const p = cachedPrefix({ tools, system, context: repoMap });
  return { tools: p.tools, system: [{ type: "text", text: system, cache_control: { type: "ephemeral" } }, p.system.at(-1)] };
}
function oldMoving(messages) {
  return messages.map((m, i) => {
    const content = typeof m.content === "string" ? [{ type: "text", text: m.content }] : m.content;
    return {
      role: m.role,
      content: content.map((b, j) => {
        const { cache_control: _drop, ...rest } = b;
        return i === messages.length - 1 && j === content.length - 1 ? { ...rest, cache_control: { type: "ephemeral" } } : rest;
      }),
    };
  });
}

/** The requests of a 10-turn loop whose every turn makes `parallel` tool calls (viewing files). */
function loop(parallel, layout) {
  const prefix = layout === "old" ? oldPrefix() : cachedPrefix({ tools, system, context: repoMap });
  const moving = layout === "old" ? oldMoving : withMovingBreakpoint;
  let messages = [{ role: "user", content: "Work unit 1 of issue #42: add a --verbose flag to the CLI (src/cli/main.ts) and a test." }];
  const requests = [];
  for (let turn = 1; turn <= 10; turn++) {
    messages = moving(messages);
    requests.push({ tools: prefix.tools, system: prefix.system, messages: structuredClone(messages) });
    const calls = Array.from({ length: parallel }, (_, k) => ({
      id: `toolu_${turn}_${k}`,
      result: Array.from(
        { length: Math.max(8, Math.round((40 + ((turn * 17 + k * 7) % 60)) / parallel)) },
        (_, i) => `${String(i + 1).padStart(6)}\tconst line${turn}_${k}_${i} = compute(${i}, options.verbose);`,
      ).join("\n"),
    }));
    messages = [
      ...messages,
      {
        role: "assistant",
        content: [
          { type: "text", text: `Step ${turn}: looking at the next file${parallel > 1 ? "s" : ""}.` },
          ...calls.map((c, k) => ({
            type: "tool_use",
            id: c.id,
            name: "str_replace_based_edit_tool",
            input: { command: "view", path: `src/module${turn}_${k}.ts` },
          })),
        ],
      },
      { role: "user", content: calls.map((c) => ({ type: "tool_result", tool_use_id: c.id, content: c.result })) },
    ];
  }
  return requests;
}

const pct = (x) => `${(100 * x).toFixed(1)}%`;
const from2 = (rows) => rows.slice(1).reduce((a, r) => a + r.read, 0) / rows.slice(1).reduce((a, r) => a + r.total, 0);
const written = (rows) => rows.reduce((a, r) => a + r.written, 0);
const MINIMUMS = [
  [1_024, "Sonnet 4.x (1,024)"],
  [2_048, "Sonnet 4.6 as some report it (2,048)"],
  [4_096, "Opus 4.5+ / Haiku 4.5 (4,096)"],
];
console.log("bench/cache-share: 10-turn execute loops (4 tools, ~1.5k-token system prompt, ~2k-token repo map)");
console.log("share of input tokens read from the cache over turns 2–10, and tokens written to it over the loop\n");
console.log("| tool calls per turn | layout | " + MINIMUMS.map(([, name]) => `${name}: read / written`).join(" | ") + " |");
console.log("|---:|---|" + MINIMUMS.map(() => "---:|").join(""));
for (const parallel of [1, 4, 12]) {
  for (const layout of ["old", "new"]) {
    const requests = loop(parallel, layout);
    const cells = MINIMUMS.map(([min]) => {
      const rows = simulate(requests, min);
      return `${pct(from2(rows))} / ${written(rows).toLocaleString("en-US")}`;
    });
    const name = layout === "old" ? "before (system + map marked, 1 moving)" : "now (map marked, 2 moving)";
    console.log(`| ${parallel} | ${name} | ${cells.join(" | ")} |`);
  }
}

// Which of the stable breakpoints can write at all, per model: a prefix under the minimum is never cached.
const stable = cachedPrefix({ tools, system, context: repoMap });
const toolsTokens = tokens(stable.tools);
const systemTokens = toolsTokens + tokens(stable.system);
console.log(
  `\nthe tools' breakpoint ends a ${toolsTokens.toLocaleString("en-US")}-token prefix; the map's a ${systemTokens.toLocaleString("en-US")}-token one`,
);
for (const [min, name] of MINIMUMS)
  console.log(`- ${name}: tools ${toolsTokens >= min ? "cached" : "never cached"}, map ${systemTokens >= min ? "cached" : "never cached"}`);
