/** A request may carry at most four cache breakpoints: the metered client refuses a fifth before anything is paid or sent. */
import type { Database } from "../../../src/db/database.js";
import { TooManyBreakpointsError } from "../../../src/llm/metered-model.js";
import { freshDatabase } from "../../helpers/db.js";
import { meteredSetup } from "../../helpers/llm.js";
import { captureLog } from "../../helpers/log.js";

const mark = { type: "ephemeral" as const };

describe("cache breakpoints per request", () => {
  let db: Database;
  beforeAll(async () => (db = await freshDatabase("pglite")));
  afterAll(() => db.close());

  it("refuses a request with five, with no call, no reservation and no ledger row", async () => {
    const { model, scripted } = meteredSetup(db, captureLog().log, [{ text: "never sent" }]);
    const request = {
      system: [
        { type: "text" as const, text: "a", cache_control: mark },
        { type: "text" as const, text: "b", cache_control: mark },
      ],
      tools: [{ name: "t", description: "d", input_schema: { type: "object" as const, properties: {} }, cache_control: mark }],
      messages: [
        { role: "user" as const, content: [{ type: "text" as const, text: "one", cache_control: mark }] },
        { role: "assistant" as const, content: [{ type: "text" as const, text: "two" }] },
        { role: "user" as const, content: [{ type: "text" as const, text: "three", cache_control: mark }] },
      ],
      maxTokens: 100,
    };
    await expect(model.call({ context: { phase: "plan" }, request })).rejects.toThrow(
      new TooManyBreakpointsError("the plan request carries 5 cache breakpoints; the API allows 4"),
    );
    expect(scripted.requests).toHaveLength(0);
    const { rows } = await db.query<{ calls: number; held: number }>(
      "SELECT (SELECT count(*) FROM llm_calls)::int AS calls, (SELECT count(*) FROM budget_reservations)::int AS held",
    );
    expect(rows[0]).toEqual({ calls: 0, held: 0 });

    // four is what the API takes
    const four = { ...request, messages: request.messages.slice(0, 2) };
    await expect(model.call({ context: { phase: "plan" }, request: four })).resolves.toMatchObject({ stopReason: expect.any(String) });
    expect(scripted.requests).toHaveLength(1);
  });
});
