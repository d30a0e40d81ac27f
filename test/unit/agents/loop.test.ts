import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { AgentLimitReached, runAgent, type AgentTool } from "../../../src/agents/loop.js";
import { PathPolicy } from "../../../src/agents/tools/path-policy.js";
import { TEXT_EDITOR_TOOL, TextEditor } from "../../../src/agents/tools/text-editor.js";
import type { Database } from "../../../src/db/database.js";
import { cachedPrefix } from "../../../src/llm/prompt-cache.js";
import type { ScriptStep } from "../../../src/llm/scripted-model.js";
import { freshDatabase } from "../../helpers/db.js";
import { insertRun, meteredSetup } from "../../helpers/llm.js";
import { captureLog } from "../../helpers/log.js";
import { AgentRecords } from "../../../src/stores/agent-records.js";

let db: Database;
let runId: string;
let editorTool: AgentTool;
const submitPlan = {
  name: "submit_plan",
  description: "Submit the plan",
  input_schema: { type: "object", properties: { steps: { type: "array" } } },
};

beforeEach(async () => {
  db = await freshDatabase("pglite");
  runId = await insertRun(db);
  const root = mkdtempSync(path.join(tmpdir(), "tollgate-loop-"));
  mkdirSync(path.join(root, "src"));
  writeFileSync(path.join(root, "src/a.ts"), "export const a = 1;\n");
  const editor = new TextEditor(await PathPolicy.create(root, []));
  editorTool = { definition: TEXT_EDITOR_TOOL, run: (input) => editor.run(input) };
});
afterEach(() => db.close());

function agent(steps: ScriptStep[], extra: { finish?: boolean; limits?: Record<string, number> } = {}) {
  const setup = meteredSetup(db, captureLog().log, steps);
  const prefix = cachedPrefix({ system: "You are a careful engineer. ".repeat(50) });
  const run = () =>
    runAgent({
      model: setup.model,
      records: new AgentRecords(db),
      context: { runId, phase: "plan", agent: "planner", iteration: 0 },
      system: prefix.system,
      tools: [editorTool],
      finishTool: extra.finish ? submitPlan : undefined,
      task: "Plan issue #1.",
      limits: extra.limits,
    });
  return { setup, run };
}

const events = async () =>
  (
    await db.query<{ turn: number; tool: string; is_error: boolean; output: string }>(
      "SELECT turn, tool, is_error, output FROM agent_events ORDER BY id",
    )
  ).rows;

describe("agent loop", () => {
  it("runs tools until the agent submits, storing every tool call and result", async () => {
    const { setup, run } = agent(
      [
        { toolUse: { name: "str_replace_based_edit_tool", input: { command: "view", path: "src/a.ts" } } },
        { toolUse: { name: "submit_plan", input: { steps: ["change a"] } } },
      ],
      { finish: true },
    );
    const result = await run();
    expect(result.submitted).toEqual({ name: "submit_plan", input: { steps: ["change a"] } });
    expect(result.turns).toBe(2);
    expect(await events()).toEqual([
      { turn: 1, tool: "str_replace_based_edit_tool", is_error: false, output: "     1\texport const a = 1;\n     2\t" },
    ]);
    // the second request carries the tool result, and the moving cache breakpoint on it
    const second = setup.scripted.requests[1]!;
    const last = second.messages.at(-1)!.content as Array<{ type: string; cache_control?: unknown }>;
    expect(last.at(-1)).toMatchObject({ type: "tool_result", cache_control: { type: "ephemeral" } });
    expect(second.tools!.at(-1)).toMatchObject({ name: "submit_plan", cache_control: { type: "ephemeral" } });
    // and both calls are in the ledger under the agent's name
    expect((await db.query("SELECT agent, phase FROM llm_calls")).rows).toEqual([
      { agent: "planner", phase: "plan" },
      { agent: "planner", phase: "plan" },
    ]);
  });

  it("answers an unknown tool, invalid tool input and a max_tokens cut with error results, and goes on", async () => {
    const { setup, run } = agent([
      { toolUse: { name: "bash", input: { cmd: "ls" } } },
      { toolUse: { name: "str_replace_based_edit_tool", input: { command: "view" } } },
      { toolUse: { name: "str_replace_based_edit_tool", input: { command: "create", path: "src/b.ts" } }, stopReason: "max_tokens" },
      { text: "Done: nothing to change." },
    ]);
    const result = await run();
    expect(result.text).toBe("Done: nothing to change.");
    const rows = await events();
    expect(rows.map((r) => [r.tool, r.is_error])).toEqual([
      ["bash", true],
      ["str_replace_based_edit_tool", true],
      ["str_replace_based_edit_tool", true],
    ]);
    expect(rows[0]!.output).toBe("There is no tool named bash. The tools are: str_replace_based_edit_tool.");
    expect(rows[1]!.output).toMatch(/^invalid input for str_replace_based_edit_tool: /);
    expect(rows[2]!.output).toMatch(/cut off by the output limit/);
    expect(setup.scripted.requests).toHaveLength(4);
  });

  it("gives up with a typed exit after too many mistakes in a row, or at its turn limit", async () => {
    const unknown = { toolUse: { name: "nope", input: {} } };
    const errors = await agent([unknown, unknown, unknown, unknown], { limits: { maxConsecutiveErrors: 2 } })
      .run()
      .catch((e) => e);
    expect(errors).toBeInstanceOf(AgentLimitReached);
    expect(errors.limit).toBe("errors");
    const view = { toolUse: { name: "str_replace_based_edit_tool", input: { command: "view", path: "src/a.ts" } } };
    const turns = await agent([view, view, view], { limits: { maxTurns: 2 } })
      .run()
      .catch((e) => e);
    expect(turns).toBeInstanceOf(AgentLimitReached);
    expect(turns.message).toBe("planner used its 2 turns without finishing");
  });
});
