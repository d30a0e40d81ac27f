/**
 * Agents that would have ended a run before finish_unit, through the whole pipeline (the compiled
 * `tollgate run` on a local repository, real git, the verify command run in the sandbox, scripted
 * answers): each ends with its work kept on the branch and a pass or a draft (exit 0 or 2),
 * never a failed run (exit 1).
 */
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { ScriptStep } from "../../src/llm/scripted-model.js";
import { tollgate } from "../helpers/cli.js";
import { git } from "../helpers/git.js";
import { approve, CONFIG, done, edit, gate, planOf, project, unit } from "../helpers/greeter.js";

const hi = edit("src/greet.js", '"Hello "', '"Hi "');
const view: ScriptStep = { toolUse: { name: "str_replace_based_edit_tool", input: { command: "view", path: "src/greet.js" } } };
const runTests: ScriptStep = { toolUse: { name: "run_command", input: { argv: ["node", "--test", "test/"] } } };

async function runWith(execute: ScriptStep[]) {
  const { seed } = project();
  mkdirSync(path.join(seed, ".github"), { recursive: true });
  writeFileSync(path.join(seed, ".github/tollgate.yml"), CONFIG());
  git(seed, "add", "-A");
  git(seed, "-c", "user.name=Human", "-c", "user.email=human@example.com", "commit", "-q", "-m", "tollgate settings");
  const dir = mkdtempSync(path.join(tmpdir(), "tollgate-finish-"));
  const issue = path.join(dir, "greet-hi.md");
  writeFileSync(
    issue,
    "# greet() should say hi\n\n`greet('Ada')` returns `Hello Ada`; it should return `Hi Ada`. test/greet.test.js checks it.\n",
  );
  const script = path.join(dir, "script.json");
  const answers = { gate, plan: planOf([unit("greeting", ["src/greet.js"])]), "execute/greeting": execute, review: [approve] };
  writeFileSync(script, JSON.stringify(answers));
  const env = { LOG_FORMAT: "json", LOG_LEVEL: "info", TOLLGATE_DATA_DIR: path.join(dir, "data") };
  const child = tollgate(["run", "--repo", seed, "--issue", issue, "--script", script], env, dir);
  const exit = await child.exit;
  return { exit, stdout: child.stdout(), stderr: child.stderr(), branchFile: () => git(seed, "show", "tollgate/greet-hi:src/greet.js") };
}

describe("agents that finish", () => {
  it("an agent that asks a question is told no one will answer, goes on and finishes: a pass", async () => {
    const run = await runWith([{ text: "Should I also update the README's example?" }, hi, done("Changed the greeting to Hi.")]);
    expect(run.stderr).not.toContain('"level":50');
    expect(run.exit).toBe(0);
    expect(run.branchFile()).toContain('"Hi "');
    expect(run.stdout).toContain("Changed the greeting to Hi.");
  });

  it("four failing test runs in a row are observations, not mistakes: the agent fixes the code and finishes", async () => {
    const run = await runWith([runTests, runTests, runTests, runTests, hi, runTests, done("Changed the greeting; node --test passes.")]);
    expect(run.exit).toBe(0);
    expect(run.branchFile()).toContain('"Hi "');
  });

  it("an agent that runs out of turns keeps its work, and verify and review judge it", async () => {
    // 40 turns: the change, then reading until the limit (the last turn offers only finish_unit, which it ignores)
    const run = await runWith([hi, ...Array<ScriptStep>(39).fill(view)]);
    expect([0, 2]).toContain(run.exit);
    expect(run.stderr).toContain("work unit stopped before finishing: its work is kept");
    expect(run.branchFile()).toContain('"Hi "');
    expect(run.stdout).toContain("| `node --test test/` | ✅ passed");
  });

  it("a refusal in an execute unit keeps the work done before it", async () => {
    const run = await runWith([hi, { text: "I can't continue with this request.", stopReason: "refusal" }]);
    expect([0, 2]).toContain(run.exit);
    expect(run.stderr).toContain("refused to go on");
    expect(run.branchFile()).toContain('"Hi "');
  });
});
