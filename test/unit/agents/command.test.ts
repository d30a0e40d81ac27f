import { mkdtempSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { CommandRefused, CommandRunner, type Sandbox } from "../../../src/agents/tools/command.js";
import { detectSandbox, sandboxFor } from "../../../src/sandbox/sandbox.js";
import { captureLog } from "../../helpers/log.js";

const sandbox: Sandbox = detectSandbox(captureLog().log);
const worktree = () => mkdtempSync(path.join(tmpdir(), "tollgate-cmd-"));
const runner = (allow: string[][], options: { timeoutMs?: number; maxOutputChars?: number; sandbox?: Sandbox } = {}) =>
  new CommandRunner({ cwd: worktree(), allow, sandbox: options.sandbox ?? sandbox, ...options });

describe("command tool", () => {
  it("is sandboxed here: bubblewrap is installed by .ci/run", () => {
    expect(sandbox.mode).toBe("bwrap");
  });

  it("refuses a command off the allow-list, saying what is allowed", async () => {
    const r = runner([
      ["npm", "test"],
      ["node", "--version"],
    ]);
    await expect(r.run(["rm", "-rf", "/"])).rejects.toThrow(
      new CommandRefused("`rm -rf /` is not allowed; allowed: npm test; node --version"),
    );
    await expect(r.run(["npm", "install"])).rejects.toBeInstanceOf(CommandRefused); // a prefix must match element by element
    await expect(runner([]).run(["ls"])).rejects.toThrow(/allowed: nothing \(commands\.allow is empty\)/);
  });

  it("runs without a shell: $(…) and ${…} stay text", async () => {
    const result = await runner([["echo"]]).run(["echo", "$(id)", "${HOME@P}", "`whoami`", ";", "ls"]);
    expect(result).toMatchObject({ exitCode: 0, timedOut: false });
    expect(result.output).toBe("$(id) ${HOME@P} `whoami` ; ls\n");
  });

  it("gives the command none of the app's secrets", async () => {
    process.env.ANTHROPIC_API_KEY = "sk-test-should-not-leak";
    process.env.DATABASE_URL = "postgres://app:secretpw@db/app";
    process.env.GITHUB_TOKEN = "ghs_should_not_leak";
    try {
      for (const mode of ["bwrap", "unsafe"] as const) {
        const { output } = await runner([["env"]], { sandbox: sandboxFor(mode) }).run(["env"]);
        expect(output).toContain("PATH=");
        expect(output).not.toMatch(/ANTHROPIC|DATABASE_URL|GITHUB_TOKEN|should-not-leak|secretpw/);
      }
    } finally {
      delete process.env.ANTHROPIC_API_KEY;
      delete process.env.DATABASE_URL;
      delete process.env.GITHUB_TOKEN;
    }
  });

  it("kills a command that sleeps past its timeout", async () => {
    const t0 = Date.now();
    const result = await runner([["sleep"]], { timeoutMs: 500 }).run(["sleep", "30"]);
    expect(result.timedOut).toBe(true);
    expect(result.exitCode).toBeNull();
    expect(result.output).toContain("[killed after the 1 s timeout]");
    expect(Date.now() - t0).toBeLessThan(5_000);
  });

  it("keeps the head and the tail of long output, saying how much was cut", async () => {
    const result = await runner([["seq"]], { maxOutputChars: 200 }).run(["seq", "1", "10000"]);
    expect(result.output.startsWith("1\n2\n3\n")).toBe(true);
    expect(result.output.endsWith("9999\n10000\n")).toBe(true);
    expect(result.output).toMatch(/\[… [\d,]+ characters of output cut …\]/);
    expect(result.outputBytes).toBe(48_894);
  });

  it("inside bubblewrap: no network, nothing writable but the worktree, no files of the app's", async () => {
    const secretDir = mkdtempSync(path.join(tmpdir(), "tollgate-app-data-"));
    writeFileSync(path.join(secretDir, "app.pem"), "PRIVATE");
    const r = new CommandRunner({ cwd: worktree(), allow: [["node"], ["cat"], ["touch"]], sandbox: sandboxFor("bwrap") });
    const net = await r.run([
      "node",
      "-e",
      "require('net').connect(5432,'127.0.0.1').on('error',e=>{console.log(e.code);process.exit(3)}).on('connect',()=>process.exit(0))",
    ]);
    expect(net.exitCode).toBe(3);
    expect(net.output).toMatch(/ECONNREFUSED|ENETUNREACH|EACCES/);
    expect((await r.run(["cat", path.join(secretDir, "app.pem")])).exitCode).not.toBe(0);
    expect((await r.run(["touch", "/usr/pwned"])).exitCode).not.toBe(0);
    const inside = await r.run(["touch", "made-here"]);
    expect(inside.exitCode).toBe(0);
    expect(existsSync("/usr/pwned")).toBe(false);
  });
});

describe("run_command, as agents call it", () => {
  it("runs an allowed command and stores it in commands; refuses the rest as an error result", async () => {
    const { freshDatabase } = await import("../../helpers/db.js");
    const { commandTool } = await import("../../../src/agents/tools/command.js");
    const { AgentRecords } = await import("../../../src/stores/agent-records.js");
    const db = await freshDatabase("pglite");
    const cwd = worktree();
    const tool = commandTool(
      new CommandRunner({ cwd, allow: [["node", "-e"]], sandbox }),
      new AgentRecords(db).commandRecorder({ phase: "execute", agent: "unit-1", cwd }),
    );
    const ok = await tool.run({ argv: ["node", "-e", "console.log('hi'); process.exit(2)"] });
    // a non-zero exit is an error result the model sees, but an observation, not a mistake of the model
    expect(ok).toEqual({ content: expect.stringMatching(/^exit code 2, \d+\.\d s\nhi\n$/), isError: true, mistake: false });
    expect(await tool.run({ argv: ["curl", "http://example.com"] })).toEqual({
      content: expect.stringMatching(/^`curl http:\/\/example\.com` is not allowed/),
      isError: true,
    });
    expect((await tool.run({ argv: "npm test" })).content).toMatch(/^invalid input for run_command/);
    const { rows } = await db.query<Record<string, unknown>>("SELECT phase, agent, argv, exit_code, timed_out FROM commands");
    expect(rows).toEqual([
      { phase: "execute", agent: "unit-1", argv: ["node", "-e", "console.log('hi'); process.exit(2)"], exit_code: 2, timed_out: false },
    ]);
    await db.close();
  });
});
