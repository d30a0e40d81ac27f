/** The loop of an agent with a finish tool: limits shown and warned, nudges, the last turn, observations, pruning. */
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { AgentLimitReached, runAgent, type AgentSpec, type AgentTool } from "../../../src/agents/loop.js";
import { ELIDED, elideOldResults } from "../../../src/agents/loop-text.js";
import { PathPolicy } from "../../../src/agents/tools/path-policy.js";
import { TEXT_EDITOR_TOOL, TextEditor } from "../../../src/agents/tools/text-editor.js";
import type { Database } from "../../../src/db/database.js";
import { cachedPrefix } from "../../../src/llm/prompt-cache.js";
import type { Message, ModelRequest } from "../../../src/llm/model.js";
import type { ScriptStep } from "../../../src/llm/scripted-model.js";
import { freshDatabase } from "../../helpers/db.js";
import { insertRun, meteredSetup } from "../../helpers/llm.js";
import { captureLog } from "../../helpers/log.js";
import { AgentRecords } from "../../../src/stores/agent-records.js";

let db: Database;
let runId: string;
let editorTool: AgentTool;
const finishUnit = {
  name: "finish_unit",
  description: "Finish",
  input_schema: { type: "object", properties: { summary: { type: "string", description: "what changed" } } },
};
// a command that fails, as run_command reports a red test
const failingTests: AgentTool = {
  definition: { name: "run_command", description: "Run", input_schema: { type: "object", properties: {} } },
  run: async () => ({ content: "exit code 1, 0.4 s\nnot ok 1 - greets", isError: true, mistake: false }),
};

beforeEach(async () => {
  db = await freshDatabase("pglite");
  runId = await insertRun(db);
  const root = mkdtempSync(path.join(tmpdir(), "tollgate-loop-"));
  mkdirSync(path.join(root, "src"));
  writeFileSync(path.join(root, "src/a.ts"), "export const a = 1;\n".repeat(200));
  const editor = new TextEditor(await PathPolicy.create(root, []));
  editorTool = { definition: TEXT_EDITOR_TOOL, run: (input) => editor.run(input) };
});
afterEach(() => db.close());

function agent(steps: ScriptStep[], over: Partial<AgentSpec> = {}) {
  const setup = meteredSetup(db, captureLog().log, steps);
  const prefix = cachedPrefix({ system: "You are a careful engineer. ".repeat(50) });
  const run = () =>
    runAgent({
      model: setup.model,
      records: new AgentRecords(db),
      context: { runId, phase: "execute", agent: "execute/u", iteration: 1 },
      system: prefix.system,
      tools: [editorTool, failingTests],
      finishTool: finishUnit,
      task: "Carry out the unit.",
      endAtLimit: true,
      ...over,
    });
  return { setup, run };
}

const view = { toolUse: { name: "str_replace_based_edit_tool", input: { command: "view", path: "src/a.ts" } } };
const finish = { toolUse: { name: "finish_unit", input: { summary: "Changed a." } } };
const runTests = { toolUse: { name: "run_command", input: { argv: ["npm", "test"] } } };
const textOf = (m: Message) => (typeof m.content === "string" ? m.content : m.content.map((b) => ("text" in b ? b.text : "")).join("\n"));
const lastUserText = (r: ModelRequest) => textOf(r.messages.at(-1)!);
const toolNames = (r: ModelRequest) => r.tools!.map((t) => t.name);

describe("an agent with a finish tool", () => {
  it("is shown its limits in the task, and that no human will answer", async () => {
    const { setup, run } = agent([finish], { limits: { maxTurns: 12, maxTokens: 500_000, maxMs: 20 * 60_000 } });
    expect((await run()).submitted).toEqual({ name: "finish_unit", input: { summary: "Changed a." } });
    const task = textOf(setup.scripted.requests[0]!.messages[0]!);
    expect(task).toContain("You have at most 12 turns");
    expect(task).toContain("500,000 tokens in all and 20 minutes");
    expect(task).toContain("on the last turn only `finish_unit` is offered");
    expect(task).toContain("No human will answer during this work");
  });

  it("nudges a question or an empty end_turn instead of ending, and goes on to finish", async () => {
    const { setup, run } = agent([{ text: "Should I also update the docs?" }, { content: [] }, view, finish]);
    const result = await run();
    expect(result.submitted?.name).toBe("finish_unit");
    expect(result.stopped).toBeUndefined();
    const nudge =
      "No human reads replies here and none will answer. Continue the work with your tools, or call `finish_unit` if it is done.";
    expect(lastUserText(setup.scripted.requests[1]!)).toBe(nudge);
    expect(lastUserText(setup.scripted.requests[2]!)).toBe(nudge);
  });

  it("warns three turns before the last, then offers only the finish tool on the last turn (not forced)", async () => {
    const { setup, run } = agent([view, view, view, view, finish], { limits: { maxTurns: 5 } });
    expect((await run()).submitted?.name).toBe("finish_unit");
    const requests = setup.scripted.requests;
    expect(lastUserText(requests[2]!)).toContain("3 turns left (this one included): wrap up and call `finish_unit`.");
    expect(lastUserText(requests[1]!)).not.toContain("turns left");
    expect(lastUserText(requests[3]!)).not.toContain("turns left"); // warned once
    expect(lastUserText(requests[4]!)).toContain("This is your last turn: only `finish_unit` is offered.");
    expect(requests.slice(0, 4).map(toolNames)).toEqual(Array(4).fill(["str_replace_based_edit_tool", "run_command", "finish_unit"]));
    expect(toolNames(requests[4]!)).toEqual(["finish_unit"]);
    expect(requests[4]!.toolChoice).toBeUndefined();
  });

  it("ends unfinished at its turn limit with its last words, when told to keep its work", async () => {
    const { run } = agent([{ text: "Looking at a.", ...view }, view], { limits: { maxTurns: 2 } });
    const result = await run();
    expect(result.submitted).toBeUndefined();
    expect(result.stopped).toEqual({ limit: "turns", message: "execute/u used its 2 turns without finishing" });
    expect(result.text).toBe("Looking at a.");
    // without endAtLimit the same is a typed exit
    const thrown = await agent([view, view], { limits: { maxTurns: 2 }, endAtLimit: false })
      .run()
      .catch((e) => e);
    expect(thrown).toBeInstanceOf(AgentLimitReached);
  });

  it("does not count failing commands as mistakes: four red test runs in a row, then it finishes", async () => {
    const { run } = agent([runTests, runTests, runTests, runTests, runTests, finish], { limits: { maxConsecutiveErrors: 2 } });
    const result = await run();
    expect(result.submitted?.name).toBe("finish_unit");
    const rows = (await db.query<{ is_error: boolean }>("SELECT is_error FROM agent_events WHERE tool = 'run_command'")).rows;
    expect(rows).toHaveLength(5);
    expect(rows.every((r) => r.is_error)).toBe(true); // the model still sees that the command failed
  });

  it("ends at a refusal, keeping what it said", async () => {
    const { run } = agent([view, { text: "I can't help with that.", stopReason: "refusal" }]);
    const result = await run();
    expect(result.stopped).toEqual({ limit: "refusal", message: "execute/u's model refused to go on: I can't help with that." });
    expect(result.turns).toBe(2);
  });

  it("treats a tool call cut by the context window like one cut by max_tokens", async () => {
    const cut = {
      toolUse: { name: "str_replace_based_edit_tool", input: { command: "create", path: "src/b.ts" } },
      stopReason: "model_context_window_exceeded" as never,
    };
    const { run } = agent([cut, finish]);
    expect((await run()).submitted?.name).toBe("finish_unit");
    const rows = (await db.query<{ output: string }>("SELECT output FROM agent_events")).rows;
    expect(rows[0]!.output).toMatch(/cut off by the output limit, so its input is incomplete/);
  });

  it("ends unfinished when it keeps replying without a tool call", async () => {
    const { run } = agent([{ text: "?" }, { text: "?" }, { text: "?" }], { limits: { maxConsecutiveErrors: 2 } });
    expect((await run()).stopped).toEqual({ limit: "errors", message: "execute/u stopped without calling finish_unit" });
  });
});

describe("pruning old tool results", () => {
  it("elides results older than the kept turns once the context passes the budget, in one step", async () => {
    const steps = [view, view, view, view, view, view, finish];
    const { setup, run } = agent(steps, { prune: { aboveTokens: 2_000, keepTurns: 2 } });
    expect((await run()).submitted?.name).toBe("finish_unit");
    const results = (r: ModelRequest) =>
      r.messages.flatMap((m) => (typeof m.content === "string" ? [] : m.content.filter((b) => b.type === "tool_result")));
    const elided = setup.scripted.requests.map((r) => results(r).filter((b) => (b as { content: unknown }).content === ELIDED).length);
    // each view is ~1.3k tokens: the context passes 2k at turn 2, and results before the last 2 turns go at once
    expect(elided[0]).toBe(0);
    expect(Math.max(...elided)).toBeGreaterThan(0);
    const firstPrune = elided.findIndex((n) => n > 0);
    // between prunes the bytes before the newest turns do not change: the count holds for keepTurns turns
    expect(elided[firstPrune + 1]).toBe(elided[firstPrune]);
    // the newest results are always whole
    const last = results(setup.scripted.requests.at(-1)!);
    expect((last.at(-1) as { content: unknown }).content).not.toBe(ELIDED);
  });

  it("keeps short results and the newest turns", () => {
    const long = "x".repeat(1_000);
    const turn = (id: string, content: string): Message[] => [
      { role: "assistant", content: [{ type: "tool_use", id, name: "view", input: {} }] },
      { role: "user", content: [{ type: "tool_result", tool_use_id: id, content }] },
    ];
    const messages: Message[] = [{ role: "user", content: "task" }, ...turn("a", long), ...turn("b", "short"), ...turn("c", long)];
    expect(elideOldResults(messages, 1)).toBe(true);
    const contents = messages.flatMap((m) =>
      typeof m.content === "string" ? [] : m.content.map((b) => (b as { content?: unknown }).content),
    );
    expect(contents.filter((c) => c !== undefined)).toEqual([ELIDED, "short", long]);
    expect(elideOldResults(messages, 1)).toBe(false); // nothing left to elide: no change, no cache miss
  });
});
