// bench/context: does the context an execution agent starts with stay the same size whatever
// the size of the repository? For three real trees of very different size it builds the repo
// map and the first request of an execution agent for the same small task, through the real
// code (src/phases/execute/unit.ts → src/agents/loop.ts, with a scripted model that records the
// request and answers at once), and reports that request's input tokens.
//
//   npm run build && node bench/context.mjs
//
// Trees (copied to a temporary folder and `git add`ed, so `git ls-files` sees them):
//   small  - this repository (git ls-files)
//   medium - node_modules/@anthropic-ai/sdk (the SDK's published tree)
//   large  - node_modules (every installed package: a real project's dependency tree)
// Tokens are estimated at 4 characters each (src/llm/tokens.ts), the same for every size.
import { execFileSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import pino from "pino";
import { openPglite } from "../dist/db/pglite.js";
import { migrate } from "../dist/db/migrate.js";
import { parseRepoConfig } from "../dist/config/repo-config.js";
import { DEFAULT_OPERATOR_CAPS } from "../dist/app/model.js";
import { BudgetStore } from "../dist/stores/budget.js";
import { Ledger } from "../dist/stores/ledger.js";
import { MeteredModel } from "../dist/llm/metered-model.js";
import { PRICE_OVERRIDES } from "../dist/llm/prices.js";
import { PriceBook } from "../dist/llm/pricing.js";
import { RateLimiter } from "../dist/llm/rate-limiter.js";
import { ScriptedModel } from "../dist/llm/scripted-model.js";
import { approxTokens } from "../dist/llm/tokens.js";
import { buildRepoMap } from "../dist/context/repo-map.js";
import { runUnit } from "../dist/phases/execute/unit.js";
import { sandboxFor } from "../dist/sandbox/sandbox.js";

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..");
const work = mkdtempSync(path.join(tmpdir(), "tollgate-bench-context-"));
const git = (cwd, ...args) => execFileSync("git", args, { cwd, encoding: "utf8", maxBuffer: 1 << 30 });

function tree(name, make) {
  const dir = path.join(work, name);
  mkdirSync(dir, { recursive: true });
  make(dir);
  git(dir, "init", "-q");
  git(dir, "add", "-A", "-f");
  return dir;
}

const trees = [
  [
    "small",
    tree("small", (dir) => {
      for (const f of git(root, "ls-files").split("\n").filter(Boolean)) {
        mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
        cpSync(path.join(root, f), path.join(dir, f));
      }
    }),
  ],
  ["medium", tree("medium", (dir) => cpSync(path.join(root, "node_modules/@anthropic-ai/sdk"), dir, { recursive: true }))],
  ["large", tree("large", (dir) => cpSync(path.join(root, "node_modules"), dir, { recursive: true }))],
];

const issue =
  "# Retries ignore Retry-After\n\nWhen the API answers 429 with a `retry-after` header, the client retries at once. It should wait the number of seconds the header gives (at most 60) before the next attempt. Add a test for a 429 followed by a success.";
const plan = {
  summary: "Honour retry-after on 429 responses.",
  steps: ["Parse the retry-after header", "Sleep before the next attempt", "Test it"],
  files: [],
  work_units: [
    {
      id: "retry-after",
      title: "Honour retry-after",
      instructions: "Find where 429 responses are retried and wait for the retry-after header's seconds (at most 60) before retrying.",
      files: [],
    },
  ],
  test_strategy: "A unit test with a fake clock.",
  acceptance_checks: ["A 429 with retry-after: 3 waits 3 s before retrying."],
};

const db = await openPglite(undefined);
await migrate(db);
const log = pino({ level: "silent" });
const rows = [];
for (const [name, dir] of trees) {
  const files = git(dir, "ls-files").split("\n").filter(Boolean).length;
  const t0 = performance.now();
  const map = await buildRepoMap({ dir, task: `${plan.work_units[0].title}\n${plan.work_units[0].instructions}\n${issue}` });
  const mapMs = performance.now() - t0;
  const scripted = new ScriptedModel([
    { toolUse: { name: "finish_unit", input: { summary: "Nothing to change in a benchmark.", files_touched: [] } } },
  ]);
  const model = new MeteredModel({
    port: scripted,
    ledger: new Ledger(db),
    budget: new BudgetStore(db),
    operatorCaps: DEFAULT_OPERATOR_CAPS,
    prices: new PriceBook(PRICE_OVERRIDES),
    limiter: new RateLimiter(),
    config: parseRepoConfig({}),
    log,
  });
  const t1 = performance.now();
  await runUnit(
    { model, db, config: parseRepoConfig({}), sandbox: sandboxFor("bwrap"), runId: undefined, iteration: 1, log },
    { dir, readOnly: [path.join(dir, ".git")] },
    { issue, plan, unit: plan.work_units[0] },
  );
  const unitMs = performance.now() - t1;
  const request = scripted.requests[0];
  const input = approxTokens(JSON.stringify([request.system, request.tools, request.messages]));
  rows.push({
    name,
    files,
    mapTokens: map.tokens,
    mapFiles: map.files.length,
    input,
    mapMs: Math.round(mapMs),
    unitMs: Math.round(unitMs),
    top: map.files.slice(0, 3).join(", "),
  });
}
await db.close();
rmSync(work, { recursive: true, force: true });

console.log(
  "| repo | tracked files | repo map tokens | files in map | first execute request, input tokens | map build | agent start | top 3 files |",
);
console.log("|---|---:|---:|---:|---:|---:|---:|---|");
for (const r of rows)
  console.log(
    `| ${r.name} | ${r.files.toLocaleString("en-US")} | ${r.mapTokens.toLocaleString("en-US")} | ${r.mapFiles} | ${r.input.toLocaleString("en-US")} | ${r.mapMs} ms | ${r.unitMs} ms | ${r.top} |`,
  );
const ratio = rows.at(-1).input / rows[0].input;
console.log(`\nlargest / smallest first-request input tokens: ${ratio.toFixed(3)} (target < 1.2)`);
