/**
 * The sandbox as an attacker meets it: each test runs a command that tries to get out, hog the
 * machine or outlive itself, and shows it refused or contained.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { CommandRefused, CommandRunner } from "../../../src/agents/tools/command.js";
import { toolbox } from "../../../src/agents/toolbox.js";
import { parseRepoConfig } from "../../../src/config/repo-config.js";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { runSandboxed } from "../../../src/sandbox/process.js";
import { EGRESS_PORT, EgressProxy } from "../../../src/sandbox/egress.js";
import { detectSandbox, sandboxFor, UNSAFE_VARIABLE } from "../../../src/sandbox/sandbox.js";
import { captureLog } from "../../helpers/log.js";
import { AgentRecords } from "../../../src/stores/agent-records.js";

const folder = () => mkdtempSync(path.join(tmpdir(), "tollgate-sandbox-"));
const MiB = 1024 * 1024;

/** Is any process on this host running with `marker` in its command line? */
function running(marker: string): boolean {
  for (const pid of readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(marker)) return true;
    } catch {
      // gone meanwhile
    }
  }
  return false;
}

describe("fail closed", () => {
  it("without bubblewrap, commands are disabled, with one clear line, and the agents get no command tool", async () => {
    const { log, lines } = captureLog("info");
    const sandbox = detectSandbox(log, { bwrap: "/nonexistent/bwrap" });
    expect(sandbox).toMatchObject({ mode: "disabled", reason: "bubblewrap is not installed (apt-get install bubblewrap)" });
    expect(lines().filter((l) => l.msg?.startsWith("sandbox:"))).toEqual([
      expect.objectContaining({
        level: 50,
        msg: expect.stringMatching(
          /^sandbox: commands are disabled: bubblewrap is not installed.*TOLLGATE_UNSAFE_NO_SANDBOX=1 runs them unsandboxed, which is unsafe/,
        ),
      }),
    ]);

    const runner = new CommandRunner({ cwd: folder(), allow: [["touch"]], sandbox });
    await expect(runner.run(["touch", "x"])).rejects.toThrow(
      new CommandRefused("commands are disabled: bubblewrap is not installed (apt-get install bubblewrap)"),
    );
    const { freshDatabase } = await import("../../helpers/db.js");
    const db = await freshDatabase("pglite");
    const tools = await toolbox({
      dir: folder(),
      config: parseRepoConfig({ commands: { allow: [["touch"]] } }),
      role: "writer",
      sandbox,
      records: new AgentRecords(db),
      where: { phase: "execute", agent: "u" },
    });
    expect(tools.map((t) => t.definition.name)).toEqual(["str_replace_based_edit_tool", "list_files", "search"]);
    await db.close();
  });

  it("runs commands unsandboxed only when the operator says so with the unsafe variable, and says so", () => {
    const { log, lines } = captureLog("info");
    expect(detectSandbox(log, { bwrap: "/nonexistent/bwrap", allowUnsafe: true }).mode).toBe("unsafe");
    expect(lines().find((l) => l.msg?.startsWith("sandbox:"))).toMatchObject({
      level: 40,
      msg: expect.stringContaining(
        `sandbox: NONE. bubblewrap is not installed (apt-get install bubblewrap), and ${UNSAFE_VARIABLE}=1 is set`,
      ),
    });
  });

  it("says at start-up which mode is in force and which limits hold", () => {
    const { log, lines } = captureLog("info");
    expect(detectSandbox(log).mode).toBe("bwrap");
    expect(lines().find((l) => l.msg?.startsWith("sandbox:"))!.msg).toMatch(
      /^sandbox: bubblewrap \(no network, only the worktree writable, \.git read-only\); limits: memory 4 GiB per process.*files up to 1 GiB, disk 4 GiB per command and 12 GiB per run$/,
    );
  });
});

describe.each(["bwrap", "unsafe"] as const)("processes end when their command ends (%s)", (mode) => {
  it("a setsid child holding the output pipe neither hangs the command nor outlives it", async () => {
    const marker = `${Math.floor(Math.random() * 1e6) + 1}.25`;
    const t0 = Date.now();
    const result = await runSandboxed({
      argv: ["sh", "-c", `setsid sleep ${marker} & echo started`],
      cwd: folder(),
      sandbox: sandboxFor(mode),
      timeoutMs: 20_000,
    });
    expect(result).toMatchObject({ exitCode: 0, timedOut: false, output: "started\n" });
    expect(Date.now() - t0).toBeLessThan(10_000);
    // bubblewrap's PID namespace ends with the command; unsandboxed, the command's cgroup does,
    // and the command has not returned before its last process is gone
    expect(sandboxFor(mode).cgroups).toBeDefined();
    expect(running(`sleep ${marker}`)).toBe(false);
  });

  it("a command cannot outlive its timeout, background children included", async () => {
    const marker = `${Math.floor(Math.random() * 1e6) + 1}.5`;
    const t0 = Date.now();
    const result = await runSandboxed({
      argv: ["sh", "-c", `(setsid sleep ${marker} &) ; sleep ${marker}`],
      cwd: folder(),
      sandbox: sandboxFor(mode),
      timeoutMs: 500,
    });
    expect(result.timedOut).toBe(true);
    expect(Date.now() - t0).toBeLessThan(10_000);
    await new Promise((r) => setTimeout(r, 200));
    expect(running(`sleep ${marker}`)).toBe(false);
  });
});

describe("limits inside the sandbox", () => {
  it("contains a fork bomb at the process limit, and leaves nothing running", async () => {
    const sandbox = sandboxFor("bwrap", { processes: 64 });
    const result = await runSandboxed({
      argv: ["sh", "-c", "bomb() { bomb | bomb & }; bomb; sleep 2"],
      cwd: folder(),
      sandbox,
      timeoutMs: 20_000,
    });
    expect(result.limit).toBe("processes");
    expect(result.output).toContain("[stopped: the command ran into the sandbox's limit of 64 processes]");
    expect(running("bomb")).toBe(false);
  });

  it("refuses a 2 GB file at the file size limit", async () => {
    const cwd = folder();
    const sandbox = sandboxFor("bwrap", { fileSizeBytes: 64 * MiB });
    const result = await runSandboxed({ argv: ["sh", "-c", "head -c 2147483648 /dev/zero > big.bin"], cwd, sandbox, timeoutMs: 60_000 });
    expect(result.limit).toBe("file size");
    expect(result.output).toContain("file size limit (64 MiB per file)");
    expect(statSync(path.join(cwd, "big.bin")).size).toBeLessThanOrEqual(64 * MiB);
  });

  it("stops a disk filler at the disk limit of a command", async () => {
    const runDir = folder();
    const cwd = path.join(runDir, "repo");
    mkdirSync(cwd);
    const sandbox = sandboxFor("bwrap", { commandDiskBytes: 48 * MiB });
    const t0 = Date.now();
    const result = await runSandboxed({
      argv: ["sh", "-c", "i=0; while :; do head -c 8388608 /dev/zero > f$i; i=$((i+1)); sleep 0.05; done"],
      cwd,
      runDir,
      sandbox,
      timeoutMs: 60_000,
    });
    expect(result).toMatchObject({ limit: "disk", timedOut: false });
    expect(result.output).toContain("disk limit (48 MiB per command");
    expect(Date.now() - t0).toBeLessThan(30_000);
  });

  it("catches a command that writes past the disk limit and ends before the next look", async () => {
    const runDir = folder();
    const result = await runSandboxed({
      argv: ["sh", "-c", "head -c 100000000 /dev/zero > fast.bin"],
      cwd: runDir,
      runDir,
      sandbox: sandboxFor("bwrap", { commandDiskBytes: 48 * MiB }),
      timeoutMs: 30_000,
    });
    expect(result.limit).toBe("disk");
  });

  it("/dev is read-only and /dev/shm is as small as /tmp", async () => {
    const sandbox = sandboxFor("bwrap", { tmpBytes: 16 * MiB });
    const run = (script: string) => runSandboxed({ argv: ["sh", "-c", script], cwd: folder(), sandbox, timeoutMs: 20_000 });
    expect((await run("head -c 1000000 /dev/zero > /dev/fill")).exitCode).not.toBe(0);
    expect((await run("head -c 33554432 /dev/zero > /dev/shm/fill")).exitCode).not.toBe(0);
    expect((await run("head -c 33554432 /dev/zero > /tmp/fill")).exitCode).not.toBe(0);
    expect((await run("echo ok > /dev/null && head -c 4 /dev/urandom | wc -c")).output.trim()).toBe("4");
  });

  it("does not start a command when the run's folder is already over its disk limit", async () => {
    const runDir = folder();
    writeFileSync(path.join(runDir, "fill"), Buffer.alloc(2 * MiB, 1));
    const result = await runSandboxed({
      argv: ["true"],
      cwd: runDir,
      runDir,
      sandbox: sandboxFor("bwrap", { runDiskBytes: 1 * MiB }),
      timeoutMs: 5_000,
    });
    expect(result).toMatchObject({ limit: "disk", exitCode: null, durationMs: 0 });
  });

  it("holds a process to its memory, and the command to its own", async () => {
    const alloc = "const b = Buffer.alloc(768 * 1024 * 1024, 1); console.log('allocated', b.length)";
    const perProcess = await runSandboxed({
      argv: ["node", "-e", alloc],
      cwd: folder(),
      sandbox: sandboxFor("bwrap", { processMemoryBytes: 256 * MiB }),
      timeoutMs: 30_000,
    });
    expect(perProcess.exitCode).not.toBe(0);
    expect(perProcess.output).not.toContain("allocated");
    const perCommand = await runSandboxed({
      argv: ["node", "-e", alloc],
      cwd: folder(),
      sandbox: sandboxFor("bwrap", { commandMemoryBytes: 256 * MiB }),
      timeoutMs: 30_000,
    });
    expect(perCommand.limit).toBe("memory");
    expect(perCommand.output).not.toContain("allocated");
  });

  it("shows only the parts of /etc that programs need: no shadow, no operator files", async () => {
    const run = (argv: string[]) => runSandboxed({ argv, cwd: folder(), sandbox: sandboxFor("bwrap"), timeoutMs: 10_000 });
    expect((await run(["cat", "/etc/shadow"])).exitCode).not.toBe(0);
    expect((await run(["ls", "/etc/ssl/private"])).exitCode).not.toBe(0);
    const listed = (await run(["ls", "/etc"])).output.split("\n").filter(Boolean);
    expect(listed).toContain("passwd");
    expect(listed).not.toContain("shadow");
    expect(listed.length).toBeLessThan(30);
    expect((await run(["node", "-e", "console.log(require('os').userInfo().username)"])).exitCode).toBe(0);
  });

  it("cannot make namespaces of its own (no nested user namespace to attack the kernel through)", async () => {
    const result = await runSandboxed({ argv: ["unshare", "-U", "true"], cwd: folder(), sandbox: sandboxFor("bwrap"), timeoutMs: 10_000 });
    expect(result.exitCode).not.toBe(0);
  });
});

describe(".git inside the sandbox", () => {
  const repo = () => {
    const dir = folder();
    execFileSync("git", ["init", "-q", "-b", "main", dir]);
    writeFileSync(path.join(dir, "a.txt"), "a\n");
    return dir;
  };

  it("is read-only: hooks, config and the worktree's gitfile cannot be planted; the tree itself is writable", async () => {
    const dir = repo();
    const sandbox = sandboxFor("bwrap");
    const run = (script: string) =>
      runSandboxed({ argv: ["sh", "-c", script], cwd: dir, readOnly: [path.join(dir, ".git")], sandbox, timeoutMs: 10_000 });
    expect((await run("printf '#!/bin/sh\\ntouch /tmp/pwned\\n' > .git/hooks/post-commit")).exitCode).not.toBe(0);
    expect((await run("git config core.fsmonitor 'touch /tmp/pwned'")).exitCode).not.toBe(0);
    expect((await run("ln .git/config stolen-config")).exitCode).not.toBe(0); // a hard link across the read-only mount
    expect(existsSync(path.join(dir, ".git/hooks/post-commit"))).toBe(false);
    expect(readFileSync(path.join(dir, ".git/config"), "utf8")).not.toContain("fsmonitor");
    expect((await run("echo b > a.txt && mkdir -p src && echo c > src/c.txt")).exitCode).toBe(0);
    expect(readFileSync(path.join(dir, "src/c.txt"), "utf8")).toBe("c\n");

    // a worktree's .git is a file: it cannot be pointed at a git folder the command built
    const wt = path.join(folder(), "wt");
    execFileSync("git", ["-C", dir, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "--allow-empty", "-m", "x"]);
    execFileSync("git", ["-C", dir, "worktree", "add", "-q", wt]);
    const gitfile = readFileSync(path.join(wt, ".git"), "utf8");
    const inWorktree = await runSandboxed({
      argv: ["sh", "-c", "git init -q --bare zz && echo 'gitdir: zz' > .git"],
      cwd: wt,
      readOnly: [path.join(wt, ".git"), path.join(dir, ".git")],
      sandbox,
      timeoutMs: 10_000,
    });
    expect(inWorktree.exitCode).not.toBe(0);
    expect(readFileSync(path.join(wt, ".git"), "utf8")).toBe(gitfile);
  });
});

describe("the way out for a setup step, and folders writable outside the tree", () => {
  const lookup = [
    "node",
    "-e",
    "require('dns').lookup('registry.npmjs.org', (e, a) => { console.log(e ? e.code : 'resolved ' + a); process.exit(e ? 1 : 0); })",
  ];
  let proxy: EgressProxy;
  let hostServer: Server;
  let hostConnections = 0;
  beforeAll(async () => {
    proxy = await EgressProxy.start(captureLog().log);
    hostServer = createServer(() => void hostConnections++);
    await new Promise<void>((resolve) => hostServer.listen(0, "127.0.0.1", resolve));
  });
  afterAll(async () => {
    await proxy.close();
    hostServer.close();
  });
  const curl = (url: string, ...extra: string[]) =>
    runSandboxed({
      argv: ["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "15", ...extra, url],
      cwd: folder(),
      sandbox: sandboxFor("bwrap"),
      egress: proxy.socket,
      timeoutMs: 30_000,
    });

  it("has no network by default: not even a name resolves", async () => {
    const result = await runSandboxed({ argv: lookup, cwd: folder(), sandbox: sandboxFor("bwrap"), timeoutMs: 20_000 });
    expect(result.exitCode).toBe(1);
    expect(result.output).toMatch(/ENOTFOUND|EAI_AGAIN/);
  });

  it("reaches the package registry through the egress proxy, with only the proxy's variables added to its environment", async () => {
    const registry = await curl("https://registry.npmjs.org/ms");
    expect(registry.output).toBe("200");
    expect(registry.exitCode).toBe(0);
    const env = await runSandboxed({ argv: ["env"], cwd: folder(), sandbox: sandboxFor("bwrap"), egress: proxy.socket, timeoutMs: 10_000 });
    const names = env.output
      .split("\n")
      .filter(Boolean)
      .map((l) => l.split("=")[0]!);
    expect(names.filter((n) => !/proxy/i.test(n)).sort()).toEqual(["CI", "HOME", "LANG", "PATH", "PWD", "TZ"]);
    expect(env.output).toContain(`HTTPS_PROXY=http://127.0.0.1:${EGRESS_PORT}`);
  });

  it("cannot reach the host: not its loopback servers, not cloud metadata, not a private network, not another port", async () => {
    const port = (hostServer.address() as AddressInfo).port;
    // straight to the host's loopback: the sandbox's loopback is its own, where nothing listens
    const direct = await curl(`http://127.0.0.1:${port}/`, "--noproxy", "*");
    expect(direct.exitCode).not.toBe(0);
    // through the proxy: refused, by address, by name and by port
    for (const url of ["https://127.0.0.1/", "https://localhost/", "https://169.254.169.254/latest/meta-data/", "https://10.0.0.1/"]) {
      const refused = await curl(url);
      expect(refused.output).toMatch(/403/);
      expect(refused.exitCode).not.toBe(0);
    }
    const otherPort = await curl(`https://registry.npmjs.org:${port}/`);
    expect(otherPort.output).toMatch(/403/);
    expect(hostConnections).toBe(0);
    expect(proxy.summary()).toMatchObject({
      refused: 5,
      byReason: { address: 4, port: 1 },
      byHost: { "127.0.0.1": 1, localhost: 1, "169.254.169.254": 1, "10.0.0.1": 1, "registry.npmjs.org": 1 },
      samples: expect.arrayContaining([
        "127.0.0.1:443: 127.0.0.1 is loopback",
        expect.stringMatching(/^localhost:443: (127\.0\.0\.1|::1) is loopback$/),
        "169.254.169.254:443: 169.254.169.254 is linkLocal",
        "10.0.0.1:443: 10.0.0.1 is private",
        `registry.npmjs.org:${port}: port ${port} (only 443 and 80)`,
      ]),
    });
  });

  it("writes the tree and the folders it is given, and nothing else of the host", async () => {
    const tree = folder();
    const cache = folder();
    const elsewhere = folder();
    const write = (target: string) =>
      runSandboxed({
        argv: ["sh", "-c", `echo x > ${target}/file`],
        cwd: tree,
        sandbox: sandboxFor("bwrap"),
        writable: [cache],
        egress: proxy.socket,
        timeoutMs: 10_000,
      });
    expect((await write(tree)).exitCode).toBe(0);
    expect((await write(cache)).exitCode).toBe(0);
    expect((await write(elsewhere)).exitCode).not.toBe(0);
    expect(existsSync(path.join(cache, "file"))).toBe(true);
    expect(existsSync(path.join(elsewhere, "file"))).toBe(false);
  });
});
