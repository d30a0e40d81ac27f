/**
 * An agent that stops before finish_unit, through the whole pipeline (the compiled `tollgate run`
 * on a local repository, real git, the verify command run in the sandbox, scripted answers): its
 * unit's work is committed and kept on the branch, verify and review judge it, and the run ends
 * as a draft that says why (exit 2), never a failed run (exit 1). What the loop and the execution
 * unit do with a question, red test runs, the turn limit and a refusal is shown without the CLI,
 * in test/unit/agents/loop-finish.test.ts and test/unit/agents/execute-unit-finish.test.ts.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { ScriptStep } from "../../src/llm/scripted-model.js";
import { tollgate } from "../helpers/cli.js";
import { git } from "../helpers/git.js";
import { approve, CONFIG, edit, gate, planOf, project, unit } from "../helpers/greeter.js";

const hi = edit("src/greet.js", '"Hello "', '"Hi "');
const view: ScriptStep = { toolUse: { name: "str_replace_based_edit_tool", input: { command: "view", path: "src/greet.js" } } };

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

describe("an agent that does not finish", () => {
  it("runs out of turns: its work is kept on the branch, verify and review judge it, and the report is a draft saying why", async () => {
    // 40 turns: the change, then reading until the limit (the last turn offers only finish_unit, which it ignores)
    const run = await runWith([hi, ...Array<ScriptStep>(39).fill(view)]);
    expect(run.stderr).not.toContain('"level":50');
    expect(run.exit).toBe(2);
    expect(run.stderr).toContain("work unit stopped before finishing: its work is kept");
    expect(run.stderr).toContain("execute/greeting used its 40 turns without finishing");
    expect(run.branchFile()).toContain('"Hi "');
    expect(run.stdout).toContain(
      "**Draft: work did not finish (Change src/greet.js hit a limit); the checks and the review passed on what was done.**",
    );
    expect(run.stdout).toContain("- **Change src/greet.js**: (the agent gave no summary)");
    expect(run.stdout).toContain("| `node --test test/` | ✅ passed");
    expect(run.stdout).toContain("**Approved ✅**");
  });
});
