// bench/webhook-ack: how fast Tollgate acknowledges a webhook, against a bare Probot app.
//
// Sends signed deliveries over loopback at a fixed rate (open loop: a request is sent on schedule
// whether or not the previous one answered) to
//   A. a bare Probot app that does nothing with the event, and
//   B. Tollgate (`tollgate start`: embedded database, in-process workers, and a fake GitHub on
//      loopback so the workers really run while the acks are measured),
// in alternating rounds within one run, and reports p50/p99 latency, throughput, and B/A.
//
// --mix realistic (the default) is what an organisation-wide installation receives on the events
// the app subscribes to: mostly deliveries Tollgate ignores (pull request activity on other PRs,
// conversation, bots' comments, issue events it has no handler for) and some it records (labels,
// edits of labelled issues, closes, commands, a review on a Tollgate PR). --mix labeled sends only
// `issues.labeled` with the trigger label, every one of which becomes a run.
// --burst sends each group of --burst-size deliveries at once, at the same average rate, as a bulk
// action on many issues does, instead of evenly spaced.
//
//   npm run build && node bench/webhook-ack.mjs [--rate 100] [--per-round 300] [--rounds 3] [--mix labeled] [--burst]
//   DATABASE_URL=postgres://… node bench/webhook-ack.mjs      # Tollgate on PostgreSQL instead
//   DATABASE_URL=postgres://… node bench/webhook-ack.mjs --split  # web process + a `tollgate worker`
import { spawn } from "node:child_process";
import { createHmac, generateKeyPairSync } from "node:crypto";
import { mkdtempSync, readFileSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const env = process.env;
const root = fileURLToPath(new URL("..", import.meta.url));
const { values: opts } = parseArgs({
  options: {
    rate: { type: "string", default: "100" },
    "per-round": { type: "string", default: "300" },
    rounds: { type: "string", default: "3" },
    warmup: { type: "string", default: "50" },
    split: { type: "boolean", default: false },
    mix: { type: "string", default: "realistic" },
    burst: { type: "boolean", default: false },
    "burst-size": { type: "string", default: "100" },
  },
});
const rate = Number(opts.rate);
const perRound = Math.min(Number(opts["per-round"]), 5000);
const rounds = Math.min(Number(opts.rounds), 10);
const warmup = Math.min(Number(opts.warmup), 500);
const burstSize = opts.burst ? Math.max(1, Number(opts["burst-size"])) : 1;
if (!["realistic", "labeled"].includes(opts.mix)) throw new Error(`--mix is realistic or labeled, not ${opts.mix}`);

const secret = "bench-secret";
const privateKey = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({ type: "pkcs1", format: "pem" });
const examples = JSON.parse(readFileSync(path.join(root, "node_modules/@octokit/webhooks-examples/api.github.com/index.json"), "utf8"));
const example = (event, action, index = 0) => examples.find((e) => e.name === event).examples.filter((x) => x.action === action)[index];

/**
 * The deliveries of a mix, per 100: [weight, event, make(seq) → payload]. Each payload is a real
 * example from @octokit/webhooks-examples with its own issue or PR number.
 */
const human = { login: "octocat", id: 583231, type: "User" };
const bot = { login: "ci-bot[bot]", id: 41898282, type: "Bot" };
const withIssue = (p, seq) => ({ ...p, issue: { ...p.issue, number: seq, pull_request: undefined } });
const withPr = (p, seq, ref = `feature-${seq}`) => ({
  ...p,
  pull_request: {
    ...p.pull_request,
    number: seq,
    head: { ...p.pull_request.head, ref, repo: { ...p.pull_request.head.repo, id: p.repository.id } },
  },
});
const comment = (p, seq, body, user) => ({ ...withIssue(p, seq), sender: user, comment: { ...p.comment, body, user } });
const MIXES = {
  labeled: [
    [
      100,
      "issues",
      (seq) => withIssue({ ...example("issues", "labeled"), label: { ...example("issues", "labeled").label, name: "ai-ready" } }, seq),
    ],
  ],
  realistic: [
    // ignored without a write: activity on pull requests Tollgate did not open
    [15, "pull_request", (seq) => withPr(example("pull_request", "synchronize"), seq)],
    [4, "pull_request", (seq) => withPr(example("pull_request", "opened"), seq)],
    [4, "pull_request", (seq) => withPr(example("pull_request", "labeled"), seq)],
    [5, "pull_request", (seq) => withPr(example("pull_request", "closed"), seq)],
    [10, "pull_request_review_comment", (seq) => withPr(example("pull_request_review_comment", "created"), seq)],
    [6, "pull_request_review", (seq) => withPr(example("pull_request_review", "submitted"), seq)],
    // ignored without a write: conversation, bots, issue events with no handler
    [20, "issue_comment", (seq) => comment(example("issue_comment", "created"), seq, "Thanks, this looks right to me.", human)],
    [6, "issue_comment", (seq) => comment(example("issue_comment", "created"), seq, "Coverage: 91.2% (+0.1%)", bot)],
    [4, "issues", (seq) => withIssue(example("issues", "opened"), seq)],
    [3, "issues", (seq) => withIssue(example("issues", "assigned"), seq)],
    // recorded: a delivery row and a job
    [2, "issue_comment", (seq) => comment(example("issue_comment", "created"), seq, "/status", human)],
    [1, "pull_request_review", (seq) => withPr(example("pull_request_review", "submitted"), seq, `tollgate/issue-${seq}`)],
    [6, "issues", (seq) => withIssue({ ...example("issues", "edited"), changes: { body: { from: "before" } } }, seq)],
    [6, "issues", (seq) => withIssue(example("issues", "labeled"), seq)],
    [
      3,
      "issues",
      (seq) => withIssue({ ...example("issues", "labeled"), label: { ...example("issues", "labeled").label, name: "ai-ready" } }, seq),
    ],
    [2, "issues", (seq) => withIssue(example("issues", "unlabeled"), seq)],
    [3, "issues", (seq) => ({ ...withIssue(example("issues", "edited"), seq), action: "closed", changes: undefined })],
  ],
};
const mix = MIXES[opts.mix];
const totalWeight = mix.reduce((n, [w]) => n + w, 0);
/** The mix's entry for the seq-th delivery: deterministic, spread evenly over every 100. */
function pick(seq) {
  let slot = (seq * 37) % totalWeight;
  for (const entry of mix) {
    if (slot < entry[0]) return entry;
    slot -= entry[0];
  }
  return mix[0];
}

// A fake GitHub on loopback: installation tokens, and no tollgate.yml anywhere (defaults).
// A fake GitHub on loopback, enough for the workers' jobs to end (mostly as ignored) rather than
// fail and come back as retries in later rounds: installation tokens, no tollgate.yml anywhere
// (defaults), every issue open without the trigger label, every sender a reader, and comments
// and reactions accepted.
const github = createServer((req, res) => {
  const json = (status, body) => res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
  const path = req.url.replace(/^\/api\/v3/, "").split("?")[0];
  req.resume();
  if (req.method === "POST" && /^\/app\/installations\/\d+\/access_tokens$/.test(path))
    return json(201, { token: "ghs_bench", expires_at: new Date(Date.now() + 3600e3).toISOString() });
  if (req.method === "GET" && /^\/repos\/[^/]+\/[^/]+\/issues\/\d+$/.test(path))
    return json(200, { ...example("issues", "opened").issue, state: "open", labels: [], pull_request: undefined });
  if (req.method === "GET" && /\/collaborators\/[^/]+\/permission$/.test(path)) return json(200, { permission: "read", role_name: "read" });
  if (req.method === "GET" && /\/(comments|reactions|events|timeline)$/.test(path)) return json(200, []);
  if (req.method === "POST" && /\/(comments|reactions)$/.test(path)) return json(201, { id: 1 });
  json(404, { message: "Not Found" });
});
await new Promise((r) => github.listen(0, "127.0.0.1", r));
const githubHost = `127.0.0.1:${github.address().port}`;

async function freePort() {
  const srv = createServer();
  await new Promise((r) => srv.listen(0, "127.0.0.1", r));
  const { port } = srv.address();
  await new Promise((r) => srv.close(r));
  return port;
}

/** Starts a server process and waits until it answers on `readyPath` (at most 60 s). */
async function startProcess(args, extraEnv, readyPath) {
  const cwd = mkdtempSync(path.join(tmpdir(), "tollgate-bench-"));
  const port = await freePort();
  // BENCH_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" profiles both servers
  const child = spawn(process.execPath, [...(env.BENCH_NODE_ARGS?.split(" ") ?? []), ...args], {
    cwd,
    env: {
      PATH: env.PATH,
      APP_ID: "1",
      PRIVATE_KEY: privateKey,
      WEBHOOK_SECRET: secret,
      PORT: String(port),
      HOST: "127.0.0.1",
      LOG_LEVEL: "warn",
      LOG_FORMAT: "json",
      ...extraEnv,
    },
    stdio: ["ignore", "ignore", "inherit"],
  });
  let exited = false;
  child.on("exit", () => (exited = true));
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline && !exited) {
    const ok = await fetch(base + readyPath).then(
      (r) => r.status < 500,
      () => false,
    );
    if (ok) return { child, url: `${base}/api/github/webhooks` };
    await new Promise((r) => setTimeout(r, 200));
  }
  child.kill("SIGKILL");
  throw new Error(`${args.join(" ")} did not come up on port ${port}`);
}

let seq = 0;
let failures = 0;
async function deliver(url) {
  seq++;
  const [, event, make] = pick(seq);
  const payload = { ...make(seq), installation: { id: 1 } };
  const body = JSON.stringify(payload);
  const headers = {
    "content-type": "application/json",
    "x-github-event": event,
    "x-github-delivery": `bench-${process.pid}-${seq}`,
    "x-hub-signature-256": `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`,
  };
  const t0 = performance.now();
  const res = await fetch(url, { method: "POST", body, headers });
  await res.arrayBuffer();
  if (res.status !== 200) failures++;
  return performance.now() - t0;
}

/** Open loop at `rate` per second on average; with --burst, groups of `burstSize` at once. */
async function load(url, count) {
  const interval = (1000 / rate) * burstSize;
  const started = performance.now();
  const pending = [];
  for (let i = 0; i < count; i += burstSize) {
    const due = started + (i / burstSize) * interval;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    for (let j = i; j < Math.min(count, i + burstSize); j++) pending.push(deliver(url));
  }
  const latencies = await Promise.all(pending);
  return { latencies, seconds: (performance.now() - started) / 1000 };
}

/** Waits (at most 60 s) until no job is due or running, as /health reports it. */
async function settled(healthUrl) {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const health = await fetch(healthUrl).then((r) => r.json());
    const queues = health.queue?.queues ?? [];
    if (queues.every((q) => q.active === 0) && (health.queue?.backlog?.waiting ?? 0) === 0) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  console.error(
    "Tollgate's jobs did not settle within 60 s; measuring on",
    JSON.stringify((await fetch(healthUrl).then((r) => r.json())).queue),
  );
}

const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
function summary(samples, seconds) {
  const sorted = [...samples].sort((a, b) => a - b);
  return { n: sorted.length, p50: pct(sorted, 50), p99: pct(sorted, 99), max: sorted.at(-1), throughput: sorted.length / seconds };
}

const bare = await startProcess([path.join(root, "bench/bare-probot.mjs")], {}, "/ping");
const tollgateEnv = {
  GHE_HOST: githubHost,
  GHE_PROTOCOL: "http",
  ANTHROPIC_API_KEY: "bench-key",
  ANTHROPIC_BASE_URL: `http://${githubHost}`,
  ...(env.DATABASE_URL ? { DATABASE_URL: env.DATABASE_URL } : {}),
};
if (opts.split && !env.DATABASE_URL) throw new Error("--split needs DATABASE_URL");
const cli = path.join(root, "dist/cli/main.js");
const tollgate = await startProcess([cli, "start", ...(opts.split ? ["--no-workers"] : [])], tollgateEnv, "/health");
const worker = opts.split
  ? spawn(process.execPath, [cli, "worker"], {
      env: { PATH: env.PATH, APP_ID: "1", PRIVATE_KEY: privateKey, WEBHOOK_SECRET: secret, LOG_LEVEL: "warn", ...tollgateEnv },
      stdio: ["ignore", "ignore", "inherit"],
    })
  : undefined;

await load(bare.url, warmup);
await load(tollgate.url, warmup);
const results = { bare: { latencies: [], seconds: 0 }, tollgate: { latencies: [], seconds: 0 } };
for (let r = 0; r < rounds; r++) {
  for (const [name, target] of r % 2 === 0
    ? [
        ["bare", bare],
        ["tollgate", tollgate],
      ]
    : [
        ["tollgate", tollgate],
        ["bare", bare],
      ]) {
    const { latencies, seconds } = await load(target.url, perRound);
    results[name].latencies.push(...latencies);
    results[name].seconds += seconds;
    // Tollgate's workers then work off the burst's jobs: the next round waits for that, so that
    // they do not take the machine from the bare app's round (or from Tollgate's next)
    if (name === "tollgate") await settled(tollgate.url.replace(/\/api\/github\/webhooks$/, "/health"));
  }
}
bare.child.kill("SIGTERM");
tollgate.child.kill("SIGTERM");
worker?.kill("SIGTERM");
github.close();

const a = summary(results.bare.latencies, results.bare.seconds);
const b = summary(results.tollgate.latencies, results.tollgate.seconds);
const f = (n) => n.toFixed(2);
console.log(
  `webhook-ack: ${rounds} rounds × ${perRound} deliveries (${opts.mix} mix) at ${rate}/s${opts.burst ? ` in bursts of ${burstSize}` : ""}, after ${warmup} warm-up each; Tollgate on ${env.DATABASE_URL ? "PostgreSQL" : "embedded PGlite"}, ${opts.split ? "workers in a separate process" : "workers in the web process"}`,
);
console.log("| target | deliveries | p50 ms | p99 ms | max ms | throughput /s |");
console.log("|---|---:|---:|---:|---:|---:|");
console.log(`| bare Probot | ${a.n} | ${f(a.p50)} | ${f(a.p99)} | ${f(a.max)} | ${f(a.throughput)} |`);
console.log(`| Tollgate | ${b.n} | ${f(b.p50)} | ${f(b.p99)} | ${f(b.max)} | ${f(b.throughput)} |`);
console.log(
  `p99 ratio Tollgate / bare: ${f(b.p99 / a.p99)} (target ≤ 2); throughput ratio: ${f(b.throughput / a.throughput)} (target ≥ 0.9)`,
);
if (failures > 0) console.log(`${failures} deliveries were not answered 200`);
process.exit(0);
