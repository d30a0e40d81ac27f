// bench/run-overhead: what Tollgate itself costs around the model, for one full run.
// A scripted model answers at once (model time excluded), so what is left is Tollgate's own
// work: cloning, the repo map, worktrees and merges, the sandboxed verify command, the ledger,
// checkpoints and the report. It runs the real pipeline (src/pipeline/orchestrator.ts) on a small
// and a large repository and reports wall time, peak memory (RSS), the tokens of each phase in
// the scripted transcript, and the tiering saving against running every phase on `deep`.
//
//   npm run build && node bench/run-overhead.mjs
//
// small: a 6-file project; large: this repository's node_modules (~18,000 files) as one repo.
import { execFileSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import pino from "pino";
import { parseRepoConfig } from "../dist/config/repo-config.js";
import { migrate } from "../dist/db/migrate.js";
import { openPglite } from "../dist/db/pglite.js";
import { costRows } from "../dist/stores/cost-rows.js";
import { DEFAULT_OPERATOR_CAPS } from "../dist/app/model.js";
import { BudgetStore } from "../dist/stores/budget.js";
import { Ledger } from "../dist/stores/ledger.js";
import { MeteredModel } from "../dist/llm/metered-model.js";
import { PRICE_OVERRIDES } from "../dist/llm/prices.js";
import { PriceBook } from "../dist/llm/pricing.js";
import { RateLimiter } from "../dist/llm/rate-limiter.js";
import { RoutedScriptedModel } from "../dist/llm/scripted-model.js";
import { runPipeline } from "../dist/pipeline/orchestrator.js";
import { PhaseRunner } from "../dist/pipeline/phase.js";
import { runReporter } from "../dist/pipeline/run-report.js";
import { renderCostTable } from "../dist/report/cost-table.js";
import { CommandRunner } from "../dist/agents/tools/command.js";

// The sandbox as this build describes it (a string before src/sandbox/ existed), so the same
// script measures the code before and after the boundary's hardening.
const sandbox = await import("../dist/sandbox/sandbox.js").then(
  (m) => m.sandboxFor("bwrap"),
  () => "bwrap",
);

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..");
const self = new URL(import.meta.url).pathname;
const git = (cwd, ...args) => execFileSync("git", args, { cwd, encoding: "utf8", maxBuffer: 1 << 30 });

const config = parseRepoConfig({ verify: { commands: [["node", "-e", "process.exit(0)"]] }, commands: { allow: [["node"]] } });
const scripts = () => ({
  plan: [
    { toolUse: { name: "str_replace_based_edit_tool", input: { command: "view", path: "GREETING.md" } } },
    {
      toolUse: {
        name: "submit_plan",
        input: {
          summary: "Say hi.",
          steps: ["Edit GREETING.md"],
          files: ["GREETING.md"],
          work_units: [{ id: "greeting", title: "Say hi", instructions: "Replace Hello with Hi in GREETING.md.", files: ["GREETING.md"] }],
          test_strategy: "None needed.",
          acceptance_checks: ["GREETING.md says Hi"],
        },
      },
    },
  ],
  "execute/greeting": [
    { toolUse: { name: "str_replace_based_edit_tool", input: { command: "view", path: "GREETING.md" } } },
    {
      toolUse: {
        name: "str_replace_based_edit_tool",
        input: { command: "str_replace", path: "GREETING.md", old_str: "Hello", new_str: "Hi" },
      },
    },
    { toolUse: { name: "finish_unit", input: { summary: "GREETING.md says Hi now.", files_touched: ["GREETING.md"] } } },
  ],
  review: [{ toolUse: { name: "submit_review", input: { verdict: "approve", summary: "Done as planned.", findings: [] } } }],
});

// Each repository is measured in a fresh process, so its peak RSS is the run's own.
if (process.argv[2] === "--one") {
  console.log(JSON.stringify(await measure(process.argv[3], process.argv[4], process.argv[5])));
  process.exit(0);
}
const work = mkdtempSync(path.join(tmpdir(), "tollgate-bench-run-"));
function repo(name, fill) {
  const dir = path.join(work, name);
  mkdirSync(dir, { recursive: true });
  fill(dir);
  writeFileSync(path.join(dir, "GREETING.md"), "Hello, world.\n");
  git(dir, "init", "-q", "-b", "main");
  git(dir, "add", "-A", "-f");
  git(dir, "-c", "user.name=Bench", "-c", "user.email=bench@example.com", "commit", "-q", "-m", "initial");
  return dir;
}

const small = repo("small", (dir) => {
  mkdirSync(path.join(dir, "src"));
  for (let i = 0; i < 5; i++) writeFileSync(path.join(dir, "src", `m${i}.js`), `export function f${i}() { return ${i}; }\n`);
});
const large = repo("large", (dir) => cpSync(path.join(root, "node_modules"), path.join(dir, "node_modules"), { recursive: true }));

const results = [];
for (const [name, dir] of [
  ["small", small],
  ["large", large],
]) {
  results.push(
    JSON.parse(
      execFileSync(process.execPath, [self, "--one", name, dir, path.join(work, "runs")], { encoding: "utf8", maxBuffer: 1 << 26 }),
    ),
  );
}
rmSync(work, { recursive: true, force: true });

console.log(
  "| repo | tracked files | outcome | wall time | RSS at start | peak RSS (max RSS of the process) | plan | execute | verify | review | publish |",
);
console.log("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|");
const mb = (b) => `${Math.round(b / 1048576)} MB`;
for (const r of results) {
  const of = (n) => `${r.phaseMs.find((p) => p.name === n)?.ms ?? "-"} ms`;
  console.log(
    `| ${r.name} | ${r.files.toLocaleString("en-US")} | ${r.status} | ${Math.round(r.ms)} ms | ${mb(r.before)} | ${mb(r.maxRss)} | ${of("plan")} | ${of("execute")} | ${of("verify")} | ${of("review")} | ${of("publish")} |`,
  );
}
console.log(`\nlarge / small wall time: ${(results[1].ms / results[0].ms).toFixed(2)}`);
console.log("\n| repo | one sandboxed command (`true`), median of 15 | slowest |\n|---|---:|---:|");
for (const r of results) console.log(`| ${r.name} | ${r.commandMs.median.toFixed(1)} ms | ${r.commandMs.max.toFixed(1)} ms |`);
for (const r of results) {
  console.log(`\n### ${r.name}: tokens per phase and the tiering saving (scripted transcript)\n`);
  console.log(
    renderCostTable({
      rows: r.cost,
      prices: new PriceBook(PRICE_OVERRIDES),
      deepModel: config.tiers.deep,
      budgetMicros: 5_000_000,
      iterations: 1,
    }).split("\n```mermaid")[0],
  );
}

async function measure(name, dir, runsRoot) {
  const log = pino({ level: "silent" });
  const prices = new PriceBook(PRICE_OVERRIDES);
  const files = git(dir, "ls-files").split("\n").filter(Boolean).length;
  const db = await openPglite(undefined);
  await migrate(db);
  const { rows } = await db.query(
    "INSERT INTO runs (installation_id, repository_id, owner, repo, issue_number, status, budget_usd_micros) VALUES (0, 0, 'bench', $1, 1, 'running', 5000000) RETURNING id",
    [name],
  );
  const runId = rows[0].id;
  const model = new MeteredModel({
    port: new RoutedScriptedModel(scripts()),
    ledger: new Ledger(db),
    budget: new BudgetStore(db),
    operatorCaps: DEFAULT_OPERATOR_CAPS,
    prices,
    limiter: new RateLimiter(),
    config,
    log,
  });
  const before = process.memoryUsage().rss;
  const t0 = performance.now();
  const outcome = await runPipeline({
    env: { model, db, config, sandbox, runId, log },
    host: {
      source: { remoteUrl: dir, branch: "main" },
      identity: { name: "tollgate[bot]", email: "tollgate[bot]@users.noreply.github.com" },
      publish: async () => ({}),
    },
    phases: new PhaseRunner(db, runId, log),
    runsRoot,
    issue: { number: 1, title: "Say hi", text: "Title: Say hi\n\nBody:\nGREETING.md should say Hi, not Hello." },
    branch: "tollgate/issue-1",
    report: runReporter({ db, prices, config, runId, issueNumber: 1 }),
  });
  const ms = performance.now() - t0;
  const phaseMs = (
    await db.query(
      "SELECT name, round(extract(epoch FROM finished_at - started_at) * 1000)::int AS ms FROM phases WHERE run_id = $1 ORDER BY id",
      [runId],
    )
  ).rows;
  const cost = await costRows(db, [runId]);
  await db.close();
  const commandMs = await commandTimes(dir, runsRoot);
  return { name, files, status: outcome.status, ms, before, maxRss: process.resourceUsage().maxRSS * 1024, phaseMs, cost, commandMs };
}

/** One command in the sandbox, as verify runs it in a clone of the repository (with its disk watch). */
async function commandTimes(dir, runsRoot) {
  const runDir = path.join(runsRoot, "commands");
  const clone = path.join(runDir, "repo");
  mkdirSync(runDir, { recursive: true });
  execFileSync("git", ["clone", "-q", "--no-local", dir, clone]);
  const runner = new CommandRunner({ cwd: clone, allow: [["true"]], sandbox, readOnly: [path.join(clone, ".git")], runDir });
  const times = [];
  for (let i = 0; i < 16; i++) {
    const t0 = performance.now();
    await runner.run(["true"]);
    if (i > 0) times.push(performance.now() - t0); // the first warms the page cache
  }
  rmSync(runDir, { recursive: true, force: true });
  times.sort((a, b) => a - b);
  return { median: times[Math.floor(times.length / 2)], max: times[times.length - 1] };
}
