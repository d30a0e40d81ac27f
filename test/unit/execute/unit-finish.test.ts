/**
 * An execution unit (`runUnit`) whose agent would have ended a run before finish_unit: a question,
 * red test runs, its turn limit, a refusal. The real writer's toolbox (text editor, `run_command`
 * in the sandbox) on the greeter's checkout, a scripted model, an embedded database: each unit
 * ends with its work in the tree and either a summary or why it did not finish, never a throw.
 * That the pipeline commits an unfinished unit's work and verify and review judge it is shown once,
 * through the built CLI, in test/integration/agents-finish.test.ts.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { parse } from "yaml";
import { runUnit, type UnitInput } from "../../../src/phases/execute/unit.js";
import { parseRepoConfig } from "../../../src/config/repo-config.js";
import type { Database } from "../../../src/db/database.js";
import type { Message, ModelRequest } from "../../../src/llm/model.js";
import type { ScriptStep } from "../../../src/llm/scripted-model.js";
import { detectSandbox } from "../../../src/sandbox/sandbox.js";
import { freshDatabase } from "../../helpers/db.js";
import { git } from "../../helpers/git.js";
import { CONFIG, done, edit, project, unit } from "../../helpers/greeter.js";
import { insertRun, meteredSetup } from "../../helpers/llm.js";
import { captureLog, type CapturedLog } from "../../helpers/log.js";
import { AgentRecords } from "../../../src/stores/agent-records.js";

let db: Database;
beforeEach(async () => {
  db = await freshDatabase("pglite");
});
afterEach(() => db.close());

const hi = edit("src/greet.js", '"Hello "', '"Hi "');
const view: ScriptStep = { toolUse: { name: "str_replace_based_edit_tool", input: { command: "view", path: "src/greet.js" } } };
const runTests: ScriptStep = { toolUse: { name: "run_command", input: { argv: ["node", "--test", "test/"] } } };
const greeting = unit("greeting", ["src/greet.js"]);
const plan: UnitInput["plan"] = {
  summary: "Make greet() say Hi.",
  steps: ["Change the greeting in src/greet.js", "Run the tests"],
  files: ["src/greet.js"],
  work_units: [greeting],
  test_strategy: "The existing node:test suite covers it.",
  acceptance_checks: ["greet('Ada') returns 'Hi Ada'", "node --test passes"],
};

/** The greeter's checkout (its test expects "Hi", so it is red until the change) and one unit run on it with `steps`. */
async function runGreeting(steps: ScriptStep[]) {
  const { seed } = project();
  const captured: CapturedLog = captureLog();
  const config = parseRepoConfig(parse(CONFIG()));
  const setup = meteredSetup(db, captured.log, steps);
  const env = {
    model: setup.model,
    records: new AgentRecords(db),
    config,
    sandbox: detectSandbox(captured.log),
    runId: await insertRun(db),
    iteration: 1,
    log: captured.log,
  };
  const base = git(seed, "rev-parse", "HEAD").trim();
  const issue = "`greet('Ada')` returns `Hello Ada`; it should return `Hi Ada`. test/greet.test.js checks it.";
  const out = await runUnit(env, { dir: seed, readOnly: [path.join(seed, ".git")] }, { base, issue, plan, unit: greeting });
  return {
    out,
    requests: setup.scripted.requests,
    logs: captured.lines(),
    greetJs: () => readFileSync(path.join(seed, "src/greet.js"), "utf8"),
    commands: async () =>
      (await db.query<{ tool: string; output: string; is_error: boolean }>("SELECT tool, output, is_error FROM agent_events ORDER BY id"))
        .rows,
  };
}

const textOf = (m: Message) => (typeof m.content === "string" ? m.content : m.content.map((b) => ("text" in b ? b.text : "")).join("\n"));
const lastUserText = (r: ModelRequest) => textOf(r.messages.at(-1)!);
const toolNames = (r: ModelRequest) => r.tools!.map((t) => t.name);
const STOPPED = "work unit stopped before finishing: its work is kept";

describe("an execution unit that would have ended before finish_unit", () => {
  it("is told no one will answer its question, goes on and finishes with its summary", async () => {
    const run = await runGreeting([{ text: "Should I also update the README's example?" }, hi, done("Changed the greeting to Hi.")]);
    expect(run.out).toEqual({ summary: "Changed the greeting to Hi.", turns: 3, filesTouched: [] });
    expect(lastUserText(run.requests[1]!)).toBe(
      "No human reads replies here and none will answer. Continue the work with your tools, or call `finish_unit` if it is done.",
    );
    expect(run.greetJs()).toContain('"Hi "');
    expect(run.logs.filter((l) => l.level >= 40)).toEqual([]); // no warning, no error
  });

  it("runs the tests red four times in a row (observations, not mistakes), fixes the code and finishes", async () => {
    const run = await runGreeting([
      runTests,
      runTests,
      runTests,
      runTests,
      hi,
      runTests,
      done("Changed the greeting; node --test passes."),
    ]);
    // four failing runs are more than the default 3 mistakes in a row: counted as mistakes, the loop would have stopped
    expect(run.out).toEqual({ summary: "Changed the greeting; node --test passes.", turns: 7, filesTouched: [] });
    expect(run.greetJs()).toContain('"Hi "');
    // the real run_command ran in the sandbox: red four times (the model sees each as an error result), then green
    const commands = (await run.commands()).filter((r) => r.tool === "run_command");
    expect(commands.map((r) => r.is_error)).toEqual([true, true, true, true, false]);
    expect(commands.map((r) => r.output.split(",")[0])).toEqual([
      "exit code 1",
      "exit code 1",
      "exit code 1",
      "exit code 1",
      "exit code 0",
    ]);
  });

  it("runs out of its 40 turns: the last offers only finish_unit, and the unit ends unfinished with its work kept", async () => {
    const run = await runGreeting([hi, ...Array<ScriptStep>(39).fill(view)]);
    expect(run.out).toEqual({
      summary: "(the agent gave no summary)",
      turns: 40,
      unfinished: "execute/greeting used its 40 turns without finishing",
    });
    expect(run.requests).toHaveLength(40);
    expect(toolNames(run.requests[39]!)).toEqual(["finish_unit"]);
    expect(run.greetJs()).toContain('"Hi "');
    expect(run.logs.filter((l) => l.msg === STOPPED)).toEqual([
      expect.objectContaining({ level: 40, unit: "greeting", why: "execute/greeting used its 40 turns without finishing" }),
    ]);
  });

  it("refuses after a change: the unit ends unfinished with the refusal, keeping the change", async () => {
    const run = await runGreeting([hi, { text: "I can't continue with this request.", stopReason: "refusal" }]);
    const why = "execute/greeting's model refused to go on: I can't continue with this request.";
    expect(run.out).toEqual({ summary: "I can't continue with this request.", turns: 2, unfinished: why });
    expect(run.greetJs()).toContain('"Hi "');
    expect(run.logs.filter((l) => l.msg === STOPPED)).toEqual([expect.objectContaining({ level: 40, unit: "greeting", why })]);
  });
});
