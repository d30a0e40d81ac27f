/**
 * A setup command that floods the way out, in the real sandbox: an install script opens
 * thousands of CONNECTs to private addresses and internal names through the egress proxy. The
 * proxy refuses them, keeps counts and a few samples, logs a few lines, and past its rate cap
 * stops the command; the setup fails with a message that says so (audit N3).
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseRepoConfig } from "../../src/config/repo-config.js";
import { DEFAULT_EGRESS_LIMITS } from "../../src/sandbox/egress.js";
import { detectSandbox, type Sandbox } from "../../src/sandbox/sandbox.js";
import { runSetup, SetupFailed } from "../../src/setup/setup.js";
import { Workspace } from "../../src/workspace/workspace.js";
import { bareRepoWith } from "../helpers/git.js";
import { captureLog } from "../helpers/log.js";

/**
 * Opens `n` CONNECTs through the proxy, 50 at a time, to private addresses (and, with `names`,
 * every other one to an internal name, which the host's resolver answers), and exits 0 whatever
 * they get. Also used by bench/egress-flood.mjs.
 */
export const FLOOD = `
const net = require("node:net");
const proxy = new URL(process.env.HTTPS_PROXY);
const n = Number(process.argv[2] || 20000);
let sent = 0, answered = 0, refused = 0;
function one() {
  if (sent >= n) return;
  const i = sent++;
  const target = process.argv[3] === "names" && i % 2 ? "host-" + i + ".internal:443" : "10.0." + (i % 250) + "." + (i % 7) + ":443";
  const s = net.connect(Number(proxy.port), proxy.hostname);
  s.on("error", () => undefined);
  s.on("data", (d) => { if (String(d).startsWith("HTTP/1.1 403")) refused++; });
  s.on("close", () => { answered++; if (answered === n) { console.log("refused " + refused + " of " + n); process.exit(0); } one(); });
  s.write("CONNECT " + target + " HTTP/1.1\\r\\nHost: " + target + "\\r\\n\\r\\n");
}
for (let k = 0; k < 50; k++) one();
`;

let sandbox: Sandbox;
beforeAll(() => {
  sandbox = detectSandbox(captureLog().log);
  if (sandbox.mode !== "bwrap") throw new Error(`these tests need bubblewrap: ${sandbox.reason}`);
});

describe("a setup command that floods the way out", () => {
  it("is stopped with a clear error, and the proxy keeps counts, a few samples and a few log lines", async () => {
    const bare = bareRepoWith({ "flood.js": FLOOD, "README.md": "a project whose install floods the proxy\n" });
    const root = mkdtempSync(path.join(tmpdir(), "tollgate-run-"));
    const ws = await Workspace.clone({
      remoteUrl: `file://${bare}`,
      dir: path.join(root, "repo"),
      branch: "main",
      identity: { name: "tollgate[bot]", email: "tollgate[bot]@users.noreply.github.com" },
    });
    const captured = captureLog();
    const config = parseRepoConfig({ setup: { commands: [["node", "flood.js", "20000"]], timeout_seconds: 120 } });
    const started = Date.now();
    const setup = runSetup({ ws, config, sandbox, trust: { trusted: true }, log: captured.log });

    const error = await setup.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(SetupFailed);
    expect((error as Error).message).toMatch(
      new RegExp(
        `^setup stopped: \`node flood\\.js 20000\` opened more than ${DEFAULT_EGRESS_LIMITS.perSecond} connections a second through the way out \\(\\d+ refused\\), so it was stopped`,
      ),
    );
    // stopped by the proxy, long before its 20,000 connections or its timeout
    expect(Date.now() - started).toBeLessThan(60_000);

    const lines = captured.lines();
    expect(lines.filter((l) => l.msg === "a setup command's connection was refused")).toHaveLength(5);
    const summary = lines.find((l) => l.msg === "setup tried connections the way out refuses")?.egress as {
      refused: number;
      byReason: Record<string, number>;
      byHost: Record<string, number>;
      samples: string[];
      exceeded: string;
    };
    expect(summary.samples).toHaveLength(5);
    expect(Object.keys(summary.byHost).length).toBeLessThanOrEqual(51);
    expect(summary.byReason.rate).toBeGreaterThanOrEqual(DEFAULT_EGRESS_LIMITS.overLimit);
    expect(summary.refused).toBe(Object.values(summary.byHost).reduce((a, b) => a + b, 0));
    expect(summary.refused).toBeLessThan(20_000);
    expect(summary.exceeded).toMatch(/^opened more than/);
    // no address a name resolved to went back to the command: the log is the operator's
    expect(captured.text().length).toBeLessThan(64 * 1024);
  });
});
