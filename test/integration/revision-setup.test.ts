/**
 * A revision sets up the pull request's branch, which holds what an agent wrote (issue 25): its
 * install scripts never get the way out, through the app as GitHub drives it (a review comment on
 * Tollgate's pull request), on the embedded database.
 */
import nock from "nock";
import { git } from "../helpers/git.js";
import { approve, CONFIG, done, edit, gate, planOf, unit } from "../helpers/greeter.js";
import { captureLog } from "../helpers/log.js";
import { laterRunEnded, runEnded, startPipeline, type Pipeline } from "../helpers/pipeline.js";
import type { ScriptStep } from "../../src/llm/scripted-model.js";
import { reviewCommentCreated } from "../helpers/webhooks.js";

describe("a revision's setup", () => {
  const captured = captureLog("info");
  let pipeline: Pipeline;
  let app: Pipeline["app"];
  let gh: Pipeline["gh"];
  let bare: string;
  beforeAll(() => nock.disableNetConnect());
  afterAll(() => nock.enableNetConnect());
  afterEach(async () => {
    await pipeline?.close();
    expect(app.github.errors).toEqual([]);
  });
  async function start(scripts: Record<string, ScriptStep[]>, options: Parameters<typeof startPipeline>[3]) {
    pipeline = await startPipeline("pglite", captured.log, scripts, options);
    ({ app, gh, bare } = pipeline);
  }
  const finished = () => runEnded(app);
  const ledger = async () => (await app.services.db.query<{ id: string }>("SELECT id FROM llm_calls")).rows;
  const branchFile = (file: string) => git(bare, "show", `tollgate/issue-1:${file}`);

  it("a revision's setup never gives the network to an install script an agent wrote: offline from the default branch's install, or it stops", async () => {
    const harmless = 'console.log("prepare: nothing to do");\n';
    const greedy =
      'if (process.env.npm_config_offline === "true") { console.log("OFFLINE: this install needs the network"); process.exit(1); }\nconsole.log("GOT THE WAY OUT");\n';
    await start(
      {
        gate,
        plan: planOf([unit("greeting", ["src/greet.js", "prep.cjs"])]),
        // steered by the issue, the first run's agent also rewrites the install script of the branch
        "execute/greeting": [edit("src/greet.js", '"Hello "', '"Hi "'), edit("prep.cjs", harmless, greedy), done("Changed.")],
        review: [approve],
      },
      {
        config: CONFIG("revise:\n  quiet_seconds: 1\n"),
        files: {
          "package.json": JSON.stringify({ name: "greeter", type: "module", scripts: { prepare: "node prep.cjs" } }),
          "package-lock.json": JSON.stringify({
            name: "greeter",
            lockfileVersion: 3,
            requires: true,
            packages: { "": { name: "greeter" } },
          }),
          "prep.cjs": harmless,
        },
      },
    );
    const first = await finished();
    expect(first.status).toBe("succeeded");
    expect(branchFile("prep.cjs")).toContain("OFFLINE: this install needs the network");
    const paidBefore = (await ledger()).length;
    gh.reviewComments.push({
      id: 611,
      pr: 100,
      user: { login: "Codertocat", type: "User" },
      path: "src/greet.js",
      line: 2,
      original_line: 2,
      diff_hunk: "@@ -1 +1 @@",
      body: "Use a template literal.",
      created_at: new Date().toISOString(),
    });
    const payload = reviewCommentCreated({ id: 611, body: "Use a template literal.", path: "src/greet.js", line: 2 });
    pipeline.atServer(payload);
    await app.probot.receive({ id: "d-review-611", name: "pull_request_review_comment", payload } as never);
    const [revision] = await laterRunEnded(app, first.id);
    expect(revision).toMatchObject({
      kind: "revise",
      status: "failed",
      error: expect.stringContaining("its install never has the network"),
    });
    // the branch's install ran offline from the first run's cache entry and failed; the default branch's
    // commit was then installed with the network (its prepare is the maintainers'), and the branch's again offline
    const setupCommands = (
      await app.services.db.query<{ argv: string[]; exit_code: number | null }>(
        "SELECT argv, exit_code FROM commands WHERE phase = 'setup' AND run_id = $1 ORDER BY id",
        [revision!.id],
      )
    ).rows;
    expect(setupCommands.map((c) => [c.argv.join(" "), c.exit_code])).toEqual([
      ["npm ci", 1],
      ["npm ci", 0],
      ["npm ci", 1],
    ]);
    expect(gh.sticky).toContain("its install never has the network");
    expect(gh.sticky).not.toContain("GOT THE WAY OUT");
    expect((await ledger()).length).toBe(paidBefore); // the revision stopped before any model was paid
  });
});
