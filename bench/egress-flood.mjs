// bench/egress-flood: Tollgate's peak memory during one setup whose install script floods the
// way out (the egress proxy, src/sandbox/egress.ts) with refused connections, against the same
// setup without the flood (audit N3, issue 25 item 3: within 64 MB).
//
// Each case runs in a child process of its own (the built code in dist/, the real bubblewrap
// sandbox), which clones a small repository and runs one setup command in it; the child reports
// its VmHWM (the highest RSS it ever had) from /proc/self/status. Cases:
//   none            setup runs `node flood.js 0`: no connection at all
//   flood           setup runs `node flood.js 20000` (private addresses): the proxy stops it past its rate cap
//   flood-names     the same, every other connection to an internal name the host's resolver answers
//   flood-uncapped  the proxy alone with its rate and refusal caps off: all 20,000 refused, each
//                   with a 15 KB target (as the audit's probe sent), so memory is bounded by what
//                   the proxy keeps, not by the command being stopped early
//
//   npm run build && node bench/egress-flood.mjs [--runs 3]
import { execFileSync, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const root = fileURLToPath(new URL("..", import.meta.url));
const { values: opts } = parseArgs({ options: { runs: { type: "string", default: "3" }, child: { type: "string" } } });
const CASES = ["none", "flood", "flood-names", "flood-uncapped"];

/** Opens `n` CONNECTs through the proxy, 50 at a time; `names`: every other one to an internal name; `pad`: characters added to each target. */
const FLOOD = `
const net = require("node:net");
const proxy = new URL(process.env.HTTPS_PROXY);
const [n, mode, pad] = [Number(process.argv[2]), process.argv[3], "x".repeat(Number(process.argv[4] || 0))];
let sent = 0, answered = 0, refused = 0;
function one() {
  if (sent >= n) return;
  const i = sent++;
  const target = (mode === "names" && i % 2 ? "host-" + i + ".internal" : "10.0." + (i % 250) + "." + (i % 7)) + pad + ":443";
  const s = net.connect(Number(proxy.port), proxy.hostname);
  s.on("error", () => undefined);
  s.on("data", (d) => { if (/^HTTP\\/1.1 4/.test(String(d))) refused++; });
  s.on("close", () => { if (++answered === n) { console.log("refused " + refused + " of " + n); process.exit(0); } one(); });
  s.write("CONNECT " + target + " HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n");
}
if (n === 0) console.log("no connection");
for (let k = 0; k < 50; k++) one();
`;

function hwmMb() {
  const kb = Number(/^VmHWM:\s+(\d+) kB/m.exec(readFileSync("/proc/self/status", "utf8"))[1]);
  return Math.round((kb / 1024) * 10) / 10;
}

async function child(name) {
  const { parseRepoConfig } = await import(path.join(root, "dist/config/repo-config.js"));
  const { detectSandbox } = await import(path.join(root, "dist/sandbox/sandbox.js"));
  const { runSetup } = await import(path.join(root, "dist/setup/setup.js"));
  const { runSandboxed } = await import(path.join(root, "dist/sandbox/process.js"));
  const { EgressProxy } = await import(path.join(root, "dist/sandbox/egress.js"));
  const { Workspace } = await import(path.join(root, "dist/workspace/workspace.js"));
  const { pino } = await import("pino");
  const log = pino({ level: "warn" }, { write: () => undefined }); // formatted and dropped: what logging costs, not the terminal
  const base = mkdtempSync(path.join(tmpdir(), "tollgate-flood-"));
  const seed = path.join(base, "seed");
  mkdirSync(seed);
  const git = (cwd, ...args) => execFileSync("git", args, { cwd, stdio: "ignore" });
  git(base, "init", "-q", "-b", "main", seed);
  writeFileSync(path.join(seed, "flood.js"), FLOOD);
  git(seed, "add", ".");
  git(seed, "-c", "user.name=b", "-c", "user.email=b@b", "commit", "-q", "-m", "flood");
  const sandbox = detectSandbox(log);
  if (sandbox.mode !== "bwrap") throw new Error(`needs bubblewrap: ${sandbox.reason}`);
  const ws = await Workspace.clone({
    remoteUrl: `file://${seed}`,
    dir: path.join(base, "run", "repo"),
    branch: "main",
    identity: { name: "b", email: "b@b" },
  });
  const before = hwmMb();
  const t0 = performance.now();
  let outcome;
  if (name === "flood-uncapped") {
    const limits = { perSecond: 1e9, burst: 1e9, overLimit: 1e9, refusals: 1e9 };
    const proxy = await EgressProxy.start(log, { limits });
    const result = await runSandboxed({
      argv: ["node", "flood.js", "20000", "ip", "15000"],
      cwd: ws.dir,
      sandbox,
      egress: proxy.socket,
      timeoutMs: 600_000,
    });
    const summary = proxy.summary();
    await proxy.close();
    outcome = `${result.output.trim()}; proxy kept ${summary.refused} refusals as ${Object.keys(summary.byHost).length} host counts and ${summary.samples.length} samples`;
  } else {
    const argv = name === "none" ? ["node", "flood.js", "0"] : ["node", "flood.js", "20000", name === "flood-names" ? "names" : "ip"];
    const config = parseRepoConfig({ setup: { commands: [argv], timeout_seconds: 600 } });
    outcome = await runSetup({ ws, config, sandbox, trust: { trusted: true }, log }).then(
      () => "setup done",
      (e) => e.message.split(", so it was stopped")[0],
    );
  }
  console.log(
    JSON.stringify({ case: name, hwmBeforeMb: before, hwmMb: hwmMb(), seconds: Math.round((performance.now() - t0) / 100) / 10, outcome }),
  );
}

function runChild(name) {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [fileURLToPath(import.meta.url), "--child", name], { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    p.stdout.on("data", (d) => (out += d));
    p.on("exit", (code) =>
      code === 0 ? resolve(JSON.parse(out.trim().split("\n").pop())) : reject(new Error(`${name} exited ${code}: ${out}`)),
    );
  });
}

if (opts.child) await child(opts.child);
else {
  const runs = Math.max(1, Number(opts.runs));
  const results = {};
  for (let r = 0; r < runs; r++)
    for (const name of CASES) {
      const res = await runChild(name);
      (results[name] ??= []).push(res);
      console.log(JSON.stringify(res));
    }
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const none = median(results.none.map((r) => r.hwmMb));
  console.log("\ncase             peak MB (median)  vs none");
  for (const name of CASES) {
    const m = median(results[name].map((r) => r.hwmMb));
    console.log(`${name.padEnd(16)} ${String(m).padStart(16)}  ${(m - none >= 0 ? "+" : "") + Math.round((m - none) * 10) / 10}`);
  }
}
