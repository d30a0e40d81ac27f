/**
 * The setup step end to end, as GitHub and Anthropic drive a run (see test/helpers/pipeline.ts for
 * the harness's pieces): an `issues.labeled` delivery through `probot.receive`, the real queue and
 * sandbox, git over `git http-backend`, nock for GitHub, a scripted model. Setup needs no
 * database of its own, so these run on the embedded one.
 */
import nock from "nock";
import type { RoutedScriptedModel, ScriptStep } from "../../src/llm/scripted-model.js";
import type { TestApp } from "../helpers/app.js";
import type { FakeGitHub } from "../helpers/fake-github.js";
import { captureLog } from "../helpers/log.js";
import { approve, CONFIG, done, edit, gate, planOf, unit } from "../helpers/greeter.js";
import { runEnded, startPipeline, type Pipeline } from "../helpers/pipeline.js";

let app: TestApp;
let gh: FakeGitHub;
let model: RoutedScriptedModel;
let pipeline: Pipeline | undefined;

beforeAll(() => nock.disableNetConnect());
afterAll(() => nock.enableNetConnect());
afterEach(async () => {
  await pipeline?.close();
  pipeline = undefined;
  expect(app.github.errors).toEqual([]);
});

async function start(scripts: Record<string, ScriptStep[]>, config: string) {
  pipeline = await startPipeline("pglite", captureLog("info").log, scripts, { config, token: "ghs_e2einstallationtoken00000000000000002" });
  ({ app, gh, model } = pipeline);
  return runEnded(app);
}

const ledger = async () => (await app.services.db.query<{ phase: string }>("SELECT phase FROM llm_calls ORDER BY id")).rows;

describe("the setup step in a run", () => {
  it("a failing setup stops the run before the plan: its last lines and what to change on the issue, nothing else paid", async () => {
    const failing = `["node", "-e", "console.log('resolving'); console.error('ERR! 404 left-pad@9.9.9 is not in this registry'); process.exit(3)"]`;
    const r = await start({ gate, plan: planOf([unit("greeting", ["src/greet.js"])]) }, CONFIG(`setup:\n  commands:\n    - ${failing}\n`));
    expect(r.status).toBe("failed");
    expect(r.error).toMatch(/^setup failed: `node -e .*` exited with code 3 after \d+ s, so nothing else ran and no model was paid\./);
    expect(model.remaining).toMatchObject({ gate: 0, plan: expect.any(Number) });
    expect(model.remaining.plan).toBeGreaterThan(0); // the plan was never asked for
    expect((await ledger()).map((c) => c.phase)).toEqual(["gate"]);
    expect(gh.sticky).toContain("stopped: the run failed");
    expect(gh.sticky).toContain("ERR! 404 left-pad@9.9.9 is not in this registry");
    expect(gh.sticky).toContain("Fix the command in `setup.commands` in .github/tollgate.yml");
    expect(gh.sticky).toMatch(/- ❌ setup: setup failed: `node -e/);
    expect(gh.pulls).toHaveLength(0);
  });

  it("with nothing to detect and no verify.commands, the PR and the issue say nothing was checked, not that checks passed", async () => {
    const r = await start(
      {
        gate,
        plan: planOf([unit("greeting", ["src/greet.js"])]),
        "execute/greeting": [edit("src/greet.js", '"Hello "', '"Hi "'), done("Changed.")],
        review: [approve],
      },
      "commands:\n  allow: []\n",
    );
    expect(r).toMatchObject({ status: "succeeded" });
    const body = gh.pulls[0]!.body;
    expect(body).toContain("Nothing to install: no `setup.commands` are configured and none were detected.");
    expect(body).toContain("Checks: nothing to run (no `verify.commands`, and none detected).");
    expect(body).toContain("**Nothing was checked**: no `verify.commands` are configured");
    expect(body).not.toMatch(/✅ passed/);
    expect(gh.sticky).toContain("Setup: nothing to install (none configured or detected).");
    expect(gh.sticky).toContain("**Nothing was checked**");
    expect((await ledger()).map((c) => c.phase)).toEqual(["gate", "plan", "plan", "execute", "execute", "review"]);
  });
});
