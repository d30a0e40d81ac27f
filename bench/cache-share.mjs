// bench/cache-share: what share of an agent loop's input tokens Anthropic's prompt cache would
// serve, given how Tollgate lays out its requests (src/llm/prompt-cache.ts, src/agents/loop.ts).
//
// It builds the requests of a 10-turn loop (the real tool definitions, a system prompt, a repo
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
const prefix = cachedPrefix({ tools, system, context: repoMap });
const toolsMarked = prefix.tools;
let messages = [{ role: "user", content: "Work unit 1 of issue #42: add a --verbose flag to the CLI (src/cli/main.ts) and a test." }];
const requests = [];
for (let turn = 1; turn <= 10; turn++) {
  messages = withMovingBreakpoint(messages);
  requests.push({ tools: toolsMarked, system: prefix.system, messages: structuredClone(messages) });
  const id = `toolu_${turn}`;
  const result = Array.from(
    { length: 40 + ((turn * 17) % 60) },
    (_, i) => `${String(i + 1).padStart(6)}\tconst line${turn}_${i} = compute(${i}, options.verbose);`,
  ).join("\n");
  messages = [
    ...messages,
    {
      role: "assistant",
      content: [
        { type: "text", text: `Step ${turn}: looking at the next file.` },
        { type: "tool_use", id, name: "str_replace_based_edit_tool", input: { command: "view", path: `src/module${turn}.ts` } },
      ],
    },
    { role: "user", content: [{ type: "tool_result", tool_use_id: id, content: result }] },
  ];
}

const pct = (x) => `${(100 * x).toFixed(1)}%`;
console.log("bench/cache-share: a 10-turn execute loop (4 tools, ~1.5k-token system prompt, ~2k-token repo map)");
console.log("| turn | input tokens | cache read (Sonnet, min 1,024) | share | cache read (Opus 4.5+ / Haiku 4.5, min 4,096) | share |");
console.log("|---:|---:|---:|---:|---:|---:|");
const sonnet = simulate(requests, 1_024);
const opus = simulate(requests, 4_096);
sonnet.forEach((s, i) =>
  console.log(
    `| ${i + 1} | ${s.total.toLocaleString("en-US")} | ${s.read.toLocaleString("en-US")} | ${pct(s.share)} | ${opus[i].read.toLocaleString("en-US")} | ${pct(opus[i].share)} |`,
  ),
);
const from2 = (rows) => rows.slice(1).reduce((a, r) => a + r.read, 0) / rows.slice(1).reduce((a, r) => a + r.total, 0);
console.log(`turns 2–10, cache share of input tokens: Sonnet ${pct(from2(sonnet))}, Opus/Haiku ${pct(from2(opus))} (target ≥ 85%)`);
console.log(
  `lowest single turn from 2 on: Sonnet ${pct(Math.min(...sonnet.slice(1).map((r) => r.share)))}, Opus/Haiku ${pct(Math.min(...opus.slice(1).map((r) => r.share)))}`,
);
