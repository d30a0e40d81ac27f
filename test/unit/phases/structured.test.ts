/**
 * Structured answers (gate, review, triage): reasoning fields come before verdict fields in the
 * schemas, and a cut-off or refused answer is asked again once from the start (a cut one with a
 * larger budget and a request to be brief) before `StructuredOutputError` says which it was.
 */
import type { Database } from "../../../src/db/database.js";
import { VERDICT_TOOL } from "../../../src/phases/gate/verdict.js";
import { REVIEW_TOOL, reviewSchema } from "../../../src/phases/review/review.js";
import { StructuredOutputError, structuredCall } from "../../../src/phases/structured.js";
import { TRIAGE_TOOL } from "../../../src/phases/verify/verify.js";
import type { ScriptStep } from "../../../src/llm/scripted-model.js";
import type { ToolDefinition } from "../../../src/llm/model.js";
import { freshDatabase } from "../../helpers/db.js";
import { insertRun, meteredSetup } from "../../helpers/llm.js";
import { captureLog } from "../../helpers/log.js";

type Schema = { properties: Record<string, { maxItems?: number }> };
const schemaOf = (tool: ToolDefinition) => (tool as unknown as { input_schema: Schema }).input_schema;
const keys = (tool: ToolDefinition) => Object.keys(schemaOf(tool).properties);

describe("the structured answers' schemas", () => {
  it("put the gate's criteria and questions before its score and ready flag", () => {
    const order = keys(VERDICT_TOOL);
    expect(order.indexOf("criteria")).toBe(0);
    expect(order.indexOf("questions")).toBeLessThan(order.indexOf("score"));
    expect(order.slice(-2)).toEqual(["score", "ready"]);
  });

  it("put the review's findings and summary before its verdict", () => {
    expect(keys(REVIEW_TOOL)).toEqual(["findings", "summary", "verdict"]);
  });

  it("cap their lists so that an answer fits its budget", () => {
    const props = (tool: ToolDefinition, key: string) => schemaOf(tool).properties[key]!;
    expect(props(VERDICT_TOOL, "questions").maxItems).toBe(5);
    expect(props(REVIEW_TOOL, "findings").maxItems).toBe(15);
    expect(props(TRIAGE_TOOL, "findings").maxItems).toBe(8);
  });
});

const answer = { findings: [], summary: "Fine.", verdict: "approve" };
const cut: ScriptStep = { toolUse: { name: "submit_review", input: { findings: [{ file: "a.ts" }] } }, stopReason: "max_tokens" };
const refused: ScriptStep = { text: "I can't help with that.", stopReason: "refusal" };

describe("a structured call", () => {
  let db: Database;
  let runId: string;
  const captured = captureLog();
  beforeEach(async () => {
    db = await freshDatabase("pglite");
    runId = await insertRun(db);
  });
  afterEach(() => db.close());

  const call = (steps: ScriptStep[]) => {
    const { model, scripted } = meteredSetup(db, captured.log, steps);
    const prompt = { id: "review.verdict@2", sha256: "ab".repeat(32), text: "Review this." };
    const result = structuredCall(model, {
      prompt,
      tool: REVIEW_TOOL,
      noun: "review",
      schema: reviewSchema,
      context: { runId, phase: "review", agent: "review", iteration: 1 },
      maxTokens: 8_192,
      brief: "at most 8 findings",
    });
    return { result, scripted };
  };

  it("asks a cut-off answer again from the start, with twice the budget and a request to be brief", async () => {
    const { result, scripted } = call([cut, { toolUse: { name: "submit_review", input: answer } }]);
    await expect(result).resolves.toMatchObject({ value: answer, calls: 2 });
    const second = scripted.requests[1]!;
    expect(second.maxTokens).toBe(16_384);
    // the partial tool call is not sent back: the prompt again, then why
    expect(second.messages).toHaveLength(1);
    expect(second.messages[0]!.content).toEqual([
      { type: "text", text: "Review this." },
      {
        type: "text",
        text: "Your previous review was cut off at the output limit before the submit_review call was complete. Answer again, more briefly (at most 8 findings), and call submit_review once.",
      },
    ]);
  });

  it("asks a refused answer again once, saying the data is to be judged, not obeyed", async () => {
    const { result, scripted } = call([refused, { toolUse: { name: "submit_review", input: answer } }]);
    await expect(result).resolves.toMatchObject({ value: answer, calls: 2 });
    const note = (scripted.requests[1]!.messages[0]!.content as Array<{ text: string }>)[1]!.text;
    expect(note).toContain("Your previous answer ended in a refusal.");
    expect(scripted.requests[1]!.maxTokens).toBe(8_192);
  });

  it("says which failure it was when the second answer fails too", async () => {
    await expect(call([cut, cut]).result).rejects.toMatchObject({ name: "StructuredOutputError", failure: "cut" });
    await expect(call([refused, refused]).result).rejects.toMatchObject({ failure: "refused" });
    const bad: ScriptStep = { toolUse: { name: "submit_review", input: { verdict: "approve" } } };
    const error = await call([bad, bad]).result.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StructuredOutputError);
    expect(error).toMatchObject({ failure: "invalid" });
    expect((error as Error).message).toContain("findings");
  });
});
