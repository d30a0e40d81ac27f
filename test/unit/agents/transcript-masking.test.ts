import { AgentRecords } from "../../../src/stores/agent-records.js";
import { runAgent, type AgentTool } from "../../../src/agents/loop.js";
import type { Database } from "../../../src/db/database.js";
import { cachedPrefix } from "../../../src/llm/prompt-cache.js";
import { freshDatabase } from "../../helpers/db.js";
import { insertRun, meteredSetup } from "../../helpers/llm.js";
import { captureLog } from "../../helpers/log.js";

const TOKEN = "ghs_16C7e42F292c6912E7710c838347Ae178B4a";
let db: Database;
afterEach(() => db?.close());

describe("what is stored of a run is masked", () => {
  it("masks secrets in the tool calls and results of agent_events, not in what the model is given", async () => {
    db = await freshDatabase("pglite");
    const runId = await insertRun(db);
    const echo: AgentTool = {
      definition: {
        name: "read_env",
        description: "Reads the environment",
        input_schema: { type: "object", properties: { name: { type: "string" } } },
      },
      run: async () => ({
        content: `GITHUB_TOKEN=${TOKEN}\nAUTHORIZATION: basic ${Buffer.from(`x-access-token:${TOKEN}`).toString("base64")}`,
        isError: false,
      }),
    };
    const setup = meteredSetup(db, captureLog().log, [
      { toolUse: { name: "read_env", input: { name: `x${TOKEN}`, nested: [{ url: `https://x-access-token:${TOKEN}@github.com/o/r` }] } } },
      { text: "Done." },
    ]);
    await runAgent({
      model: setup.model,
      records: new AgentRecords(db),
      context: { runId, phase: "execute", agent: "unit-1", iteration: 1 },
      system: cachedPrefix({ system: "You are careful." }).system,
      tools: [echo],
      task: "Read the environment.",
    });
    const { rows } = await db.query<{ input: unknown; output: string }>("SELECT input, output FROM agent_events");
    expect(rows).toEqual([
      {
        input: { name: "x[redacted GitHub token]", nested: [{ url: "[redacted URL with password]@github.com/o/r" }] },
        output: "GITHUB_TOKEN=[redacted GitHub token]\nAUTHORIZATION: basic [redacted credentials]",
      },
    ]);
    // the model itself still got the tool's real output
    expect(JSON.stringify(setup.scripted.requests[1]!.messages)).toContain(TOKEN);
  });

  it("masks secrets in the argv stored in commands", async () => {
    db = await freshDatabase("pglite");
    const record = new AgentRecords(db).commandRecorder({ phase: "verify", agent: "verify", cwd: "/work/tree" });
    await record(["git", "-c", `http.extraheader=AUTHORIZATION: bearer ${TOKEN}`, "fetch"], {
      exitCode: 0,
      signal: null,
      timedOut: false,
      durationMs: 5,
      output: "",
      outputBytes: 0,
    });
    const { rows } = await db.query<{ argv: string[]; cwd: string }>("SELECT argv, cwd FROM commands");
    expect(rows).toEqual([
      { argv: ["git", "-c", "http.extraheader=AUTHORIZATION: bearer [redacted GitHub token]", "fetch"], cwd: "/work/tree" },
    ]);
  });
});
