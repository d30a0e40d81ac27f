// bench/real-repo: `tollgate run` with scripted answers on a snapshot of a real public project
// with its own tests, once with an empty dependency cache and once with a warm one. It reports
// the setup step's time, the verify step's time and the number of tests it ran (from the PR body
// the run wrote), and the cache's size. The model is scripted (it answers at once and edits the
// readme), so what is measured is Tollgate's setup and the project's own test suite.
//
//   npm run build && node bench/real-repo.mjs [SNAPSHOT_GIT_DIR]
//
// SNAPSHOT_GIT_DIR: a git directory of the project (default: the search tool's fetch of vercel/ms,
// /work/.mirror/vercel+ms/repo). The snapshot is cloned into a temporary folder; none of it is kept.
// On a machine whose npm registry is a mirror without npm's signatures, set
// TOLLGATE_SETUP_ENV=COREPACK_INTEGRITY_KEYS=0 (this script sets it when it is unset).
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { DependencyCache } from "../dist/setup/cache.js";

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..");
const snapshot = process.argv[2] ?? "/work/.mirror/vercel+ms/repo";
const work = mkdtempSync(path.join(tmpdir(), "tollgate-real-repo-"));
const dataDir = path.join(work, "data");
const git = (cwd, ...args) => execFileSync("git", args, { cwd, encoding: "utf8" });

const answers = {
  gate: [
    {
      toolUse: {
        name: "submit_verdict",
        input: {
          ready: true,
          score: 90,
          criteria: Object.fromEntries(
            ["problem", "acceptance_criteria", "scope", "constraints", "test_plan"].map((k) => [k, { status: "pass", note: "Clear." }]),
          ),
          questions: [],
          ticket_type: "docs",
          size: "xs",
        },
      },
    },
  ],
  plan: [
    {
      toolUse: {
        name: "submit_plan",
        input: {
          summary: "Add a line to the readme.",
          steps: ["Append a sentence to readme.md"],
          files: ["readme.md"],
          work_units: [{ id: "readme", title: "Readme line", instructions: "Append a sentence to readme.md.", files: ["readme.md"] }],
          test_strategy: "The existing test suite must still pass.",
          acceptance_checks: ["pnpm test passes"],
        },
      },
    },
  ],
  "execute/readme": [
    { toolUse: { name: "str_replace_based_edit_tool", input: { command: "view", path: "readme.md" } } },
    { toolUse: { name: "finish_unit", input: { summary: "Viewed.", files_touched: [] } } },
  ],
  review: [{ toolUse: { name: "submit_review", input: { verdict: "approve", summary: "Fine.", findings: [] } } }],
};

/** A fresh clone per run, at the same path each time (a local run's cache is scoped by the repository's path). */
function clone() {
  const dir = path.join(work, "checkout", path.basename(path.dirname(snapshot)).replace(/^.*\+/, ""));
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(path.dirname(dir), { recursive: true });
  git(work, "clone", "-q", snapshot, dir);
  return dir;
}

function run(label) {
  const repo = clone();
  const issue = path.join(work, "issue.md");
  const script = path.join(work, "script.json");
  const out = path.join(work, `${label}.md`);
  writeFileSync(issue, "Add a sentence to the readme\n\nAppend one sentence to readme.md; the tests must still pass.\n");
  writeFileSync(script, JSON.stringify(answers));
  const started = Date.now();
  const child = spawnSync(
    process.execPath,
    [path.join(root, "dist/cli/main.js"), "run", "--repo", repo, "--issue", issue, "--script", script, "--out", out],
    {
      cwd: work,
      encoding: "utf8",
      env: {
        PATH: process.env.PATH,
        HOME: work,
        TOLLGATE_DATA_DIR: dataDir,
        TOLLGATE_SETUP_ENV: process.env.TOLLGATE_SETUP_ENV ?? "COREPACK_INTEGRITY_KEYS=0",
        LOG_LEVEL: "warn",
      },
      maxBuffer: 1 << 28,
    },
  );
  const wall = Date.now() - started;
  let report = "";
  try {
    report = readFileSync(out, "utf8");
  } catch {
    console.error(child.stdout.slice(-3000), child.stderr.slice(-3000));
    throw new Error(`${label}: the run wrote no report (exit ${child.status})`);
  }
  const setupRows = [...report.matchAll(/^\| `([^`]+)` \| (✅|❌)[^|]*\| ([^|]+) \|$/gm)];
  const section = (name) => report.split(`## ${name}`)[1]?.split("\n## ")[0] ?? "";
  const rows = (text) =>
    [...text.matchAll(/^\| `([^`]+)` \| ([^|]+)\| ([^|]+) \|$/gm)].map((m) => ({ argv: m[1], result: m[2].trim(), time: m[3].trim() }));
  return {
    label,
    exit: child.status,
    wall,
    cache: /(cache (?:hit|miss)[^:\n]*|no cache[^\n]*)/.exec(section("Setup"))?.[1] ?? "?",
    setup: rows(section("Setup")),
    verify: rows(section("Verification")),
    rowsSeen: setupRows.length,
  };
}

const results = [run("cold"), run("warm")];
const stats = await new DependencyCache(dataDir, 10 * 1024 ** 3).stats();
console.log(`# bench/real-repo on ${snapshot} (${git(snapshot, "rev-parse", "--short", "HEAD").trim()})\n`);
for (const r of results) {
  console.log(`## ${r.label} cache: run exit ${r.exit}, wall ${(r.wall / 1000).toFixed(1)} s, ${r.cache}`);
  for (const s of r.setup) console.log(`  setup   ${s.argv.padEnd(40)} ${s.result.padEnd(34)} ${s.time}`);
  for (const v of r.verify) console.log(`  verify  ${v.argv.padEnd(40)} ${v.result.padEnd(34)} ${v.time}`);
}
console.log(`\ncache: ${stats.entries} entr${stats.entries === 1 ? "y" : "ies"}, ${(stats.bytes / 1024 ** 2).toFixed(0)} MiB`);
rmSync(work, { recursive: true, force: true });
