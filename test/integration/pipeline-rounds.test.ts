/**
 * Runs that used to be lost, driven end to end by test/helpers/pipeline.ts (GitHub played by nock, git
 * over `git http-backend`, the checks run for real in the sandbox, a scripted model) on the
 * embedded database: a triage answer cut off twice, a review refused twice, a review that only
 * suggests, and a check that already failed before the change. Each ends with its work kept, in
 * a pull request (a draft when it must be), never as a failed run.
 */
import nock from "nock";
import type { RoutedScriptedModel, ScriptStep } from "../../src/llm/scripted-model.js";
import type { TestApp } from "../helpers/app.js";
import type { FakeGitHub } from "../helpers/fake-github.js";
import { git } from "../helpers/git.js";
import { captureLog } from "../helpers/log.js";
import { approve, CONFIG, done, edit, gate, planOf, unit } from "../helpers/greeter.js";
import { runEnded, startPipeline, type Pipeline } from "../helpers/pipeline.js";
const plan = planOf([unit("greeting", ["src/greet.js"])]);
const review = (findings: unknown[], verdict = "request_changes"): ScriptStep => ({
  toolUse: { name: "submit_review", input: { findings, summary: "The greeting changed as planned.", verdict } },
});
const cutTriage: ScriptStep = {
  toolUse: { name: "submit_triage", input: { summary: "The greet test fails because" } },
  stopReason: "max_tokens",
};
const refusal: ScriptStep = { text: "I can't help with that.", stopReason: "refusal" };

describe("rounds that degrade instead of failing", () => {
  beforeAll(() => nock.disableNetConnect());
  afterAll(() => nock.enableNetConnect());
  let app: TestApp;
  let gh: FakeGitHub;
  let bare: string;
  let model: RoutedScriptedModel;
  let pipeline: Pipeline | undefined;
  const captured = captureLog("info");

  async function start(scripts: Record<string, ScriptStep[]>, config = CONFIG()) {
    pipeline = await startPipeline("pglite", captured.log, scripts, { config, permissions: { reader: "read" } });
    ({ app, gh, bare, model } = pipeline);
  }
  const finished = () => runEnded(app);
  const requestsOf = (route: string) => model.requests.filter((q) => q.route === route).map((q) => q.request);

  afterEach(async () => {
    await pipeline?.close();
    pipeline = undefined;
  });

  it("a triage cut off twice: the fix round gets the raw failing output, and the run passes", async () => {
    await start({
      gate,
      plan,
      "execute/greeting": [edit("src/greet.js", '"Hello "', '"Hey "'), done("Changed the greeting to Hey.")],
      triage: [cutTriage, cutTriage],
      "execute/fix": [edit("src/greet.js", '"Hey "', '"Hi "'), done("The greeting is Hi now, as the test expects.")],
      review: [approve],
    });
    expect(await finished()).toMatchObject({ status: "succeeded", iterations: 2, error: null });
    expect(model.remaining).toEqual({ gate: 0, plan: 0, "execute/greeting": 0, triage: 0, "execute/fix": 0, review: 0 });
    // asked again with a larger budget
    expect(requestsOf("triage").map((r) => r.maxTokens)).toEqual([4_096, 8_192]);
    const fixTask = JSON.stringify(requestsOf("execute/fix")[0]!.messages[0]);
    expect(fixTask).toContain("<failing_output>");
    expect(fixTask).toContain("Hey Ada");
    expect(fixTask).toContain("No triage of these failures could be had");
    // the change so far and what round 1 said it did
    expect(fixTask).toContain("<change_so_far>");
    expect(fixTask).toContain('+  return \\"Hey \\" + name;');
    expect(fixTask).toContain("Round 1, Change src/greet.js (greeting): Changed the greeting to Hey.");
    expect(gh.pulls[0]).toMatchObject({ draft: false });
    expect(git(bare, "show", "tollgate/issue-1:src/greet.js")).toContain('return "Hi " + name;');
  });

  it("a review refused twice: a draft that says why, with the work kept", async () => {
    await start({
      gate,
      plan,
      "execute/greeting": [edit("src/greet.js", '"Hello "', '"Hi "'), done("Changed the greeting to Hi.")],
      review: [refusal, refusal],
    });
    expect(await finished()).toMatchObject({ status: "draft", iterations: 1, error: null });
    expect(model.remaining.review).toBe(0);
    const pr = gh.pulls[0]!;
    expect(pr.draft).toBe(true);
    expect(pr.body).toContain("**Draft: the change could not be reviewed: the reviewer refused to answer twice.**");
    expect(pr.body).toContain("Not reviewed: the reviewer refused to answer twice.");
    expect(git(bare, "show", "tollgate/issue-1:src/greet.js")).toContain('return "Hi " + name;');
  });

  it("a review that only suggests: the run passes in one round, the suggestions in the PR body", async () => {
    const suggestion = { file: "src/greet.js", line: 2, severity: "suggestion", body: "A GREETING constant would read better." };
    await start({
      gate,
      plan,
      "execute/greeting": [edit("src/greet.js", '"Hello "', '"Hi "'), done("Changed the greeting to Hi.")],
      // the model says request_changes, but nothing it found is blocking
      review: [review([suggestion])],
    });
    expect(await finished()).toMatchObject({ status: "succeeded", iterations: 1 });
    // the reviewer read the issue, the unit's summary and the wide diff, the instruction last
    const prompt = requestsOf("review")[0]!.messages[0]!.content as string;
    expect(prompt).toContain("<issue>\nTitle: greet() should say hi, not hello");
    expect(prompt).toContain("Round 1, Change src/greet.js (greeting): Changed the greeting to Hi.");
    expect(prompt.indexOf("</diff>")).toBeLessThan(prompt.indexOf("call `submit_review` once"));
    const pr = gh.pulls[0]!;
    expect(pr.draft).toBe(false);
    expect(pr.body).toContain("**Approved ✅**");
    expect(pr.body).toContain(
      "### Suggestions from the review\n\nNot required, and not worked on by Tollgate:\n- `src/greet.js:2`: A GREETING constant would read better.",
    );
  });

  it("a check that already failed before the change: not chased, no extra round, and the PR says so", async () => {
    const broken = '    - ["node", "-e", "console.error(\'the e2e database is unreachable\'); process.exit(3)"]\n';
    await start(
      {
        gate,
        plan,
        "execute/greeting": [edit("src/greet.js", '"Hello "', '"Hi "'), done("Changed the greeting to Hi.")],
        review: [approve],
      },
      CONFIG().replace('    - ["node", "--test", "test/"]\n', `    - ["node", "--test", "test/"]\n${broken}`),
    );
    expect(await finished()).toMatchObject({ status: "succeeded", iterations: 1 });
    expect(model.remaining).toEqual({ gate: 0, plan: 0, "execute/greeting": 0, review: 0 }); // no triage, no fix round
    const verification = (requestsOf("review")[0]!.messages[0]!.content as string).split("<verification>")[1]!;
    expect(verification).toContain("failed (exit 3) (already failing before the change): node -e");
    const pr = gh.pulls[0]!;
    expect(pr.body).toContain("❌ exit 3, already failing before the change |");
    expect(pr.body).toContain("fail on the base commit too, so this change did not cause them");
  });
});
