import nock from "nock";
import { ProbotOctokit } from "probot";
import { GitHubIssues, STICKY_MARKER, type Octokit } from "../../../src/github/issues.js";
import { APP_ID } from "../../helpers/app.js";
import { captureLog } from "../../helpers/log.js";
import { GitHubRequestValidator } from "../../helpers/openapi.js";

const API = "https://api.github.com";
const validator = new GitHubRequestValidator();
/** Probot's Octokit as production has it (throttling on), without the generic retry plugin. */
const octokit = () =>
  new (ProbotOctokit.plugin(validator.plugin).defaults({ retry: { enabled: false } }))({
    auth: "test-installation-token",
    log: captureLog().log,
  }) as unknown as Octokit;

beforeAll(() => nock.disableNetConnect());
afterEach(() => {
  nock.cleanAll();
  expect(validator.errors).toEqual([]);
});
afterAll(() => nock.enableNetConnect());

/** `performed_via_github_app` as GitHub sets it on the comments this app creates. */
const TOLLGATE = { id: APP_ID, slug: "tollgate", name: "Tollgate" };

describe("GitHubIssues", () => {
  it("waits out a secondary rate limit (retry-after) and posts the comment once", async () => {
    const bodies: string[] = [];
    const scope = nock(API)
      .post("/repos/o/r/issues/1/comments")
      .reply(
        403,
        { message: "You have exceeded a secondary rate limit. Please wait a few minutes before you try again." },
        { "retry-after": "1" },
      )
      .post("/repos/o/r/issues/1/comments")
      .reply(201, (_u: string, b: { body: string }) => (bodies.push(b.body), { id: 1 }));
    const t0 = Date.now();
    await new GitHubIssues(octokit(), "o", "r", APP_ID).comment(1, "hello");
    expect(scope.isDone()).toBe(true);
    expect(bodies).toEqual(["hello"]);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(900);
  });

  it("finds its sticky comment by the marker and edits it; recreates it when a human deleted it", async () => {
    const edits: string[] = [];
    const creates: string[] = [];
    nock(API)
      .get("/repos/o/r/issues/1/comments")
      .query({ per_page: "100" })
      .reply(200, [
        { id: 5, body: `someone quoting ${STICKY_MARKER}`, user: { login: "octocat", type: "User" } },
        { id: 6, body: `${STICKY_MARKER}\nold`, user: { login: "tollgate[bot]", type: "Bot" }, performed_via_github_app: TOLLGATE },
      ])
      .patch("/repos/o/r/issues/comments/6")
      .reply(200, (_u: string, b: { body: string }) => (edits.push(b.body), { id: 6 }))
      .get("/repos/o/r/issues/1/comments")
      .query({ per_page: "100" })
      .reply(200, [])
      .post("/repos/o/r/issues/1/comments")
      .reply(201, (_u: string, b: { body: string }) => (creates.push(b.body), { id: 7 }));
    const gh = new GitHubIssues(octokit(), "o", "r", APP_ID);
    expect(await gh.upsertSticky(1, "verdict")).toBe(6);
    expect(await gh.upsertSticky(1, "verdict again")).toBe(7);
    expect(edits).toEqual([`${STICKY_MARKER}\nverdict`]);
    expect(creates).toEqual([`${STICKY_MARKER}\nverdict again`]);
  });

  it("does not take another bot's comment carrying the marker for its own: it posts its own sticky and edits only that", async () => {
    const forged = [
      // another GitHub App's bot
      { id: 11, user: { login: "other-app[bot]", type: "Bot" }, performed_via_github_app: { id: 4242, slug: "other-app", name: "Other" } },
      // an Action's GITHUB_TOKEN
      { id: 12, user: { login: "github-actions[bot]", type: "Bot" }, performed_via_github_app: { id: 15368, slug: "github-actions" } },
      // a bot GitHub names no app for
      { id: 13, user: { login: "legacy[bot]", type: "Bot" }, performed_via_github_app: null },
      { id: 14, user: { login: "helper[bot]", type: "Bot" } },
      // a person acting through some app (a user-to-server token): not the app's bot user
      { id: 15, user: { login: "mallory", type: "User" }, performed_via_github_app: TOLLGATE },
    ].map((c) => ({ ...c, body: `${STICKY_MARKER}\n### Tollgate spec gate: ready ✅ (score 100/100)` }));
    const created: string[] = [];
    const edited: string[] = [];
    const scope = nock(API)
      .get("/repos/o/r/issues/1/comments")
      .query({ per_page: "100" })
      .times(2) // read as they are, then by the first upsert
      .reply(200, forged)
      .post("/repos/o/r/issues/1/comments")
      .reply(201, (_u: string, b: { body: string }) => (created.push(b.body), { id: 20, body: b.body }))
      // the next time, its own sticky is among the forged ones: that one, and only that one, is edited
      .get("/repos/o/r/issues/1/comments")
      .query({ per_page: "100" })
      .reply(200, [
        ...forged,
        { id: 20, body: `${STICKY_MARKER}\nverdict`, user: { login: "tollgate[bot]", type: "Bot" }, performed_via_github_app: TOLLGATE },
      ])
      .patch("/repos/o/r/issues/comments/20")
      .reply(200, (_u: string, b: { body: string }) => (edited.push(b.body), { id: 20, body: b.body }));
    const gh = new GitHubIssues(octokit(), "o", "r", APP_ID);
    expect((await gh.comments(1)).map((c) => [c.id, c.authorIsBot, c.mine])).toEqual([
      [11, true, false],
      [12, true, false],
      [13, true, false],
      [14, true, false],
      [15, false, false],
    ]);
    expect(await gh.upsertSticky(1, "verdict")).toBe(20);
    expect(await gh.upsertSticky(1, "verdict again")).toBe(20);
    expect(created).toEqual([`${STICKY_MARKER}\nverdict`]);
    expect(edited).toEqual([`${STICKY_MARKER}\nverdict again`]);
    expect(scope.isDone()).toBe(true);
    expect(nock.pendingMocks()).toEqual([]); // and no PATCH of a forged comment was tried: it would have found no interceptor and failed
  });

  it("masks secrets and cuts bodies to GitHub's 65,536-character limit before posting", async () => {
    let posted = "";
    nock(API)
      .post("/repos/o/r/issues/1/comments")
      .reply(201, (_u: string, b: { body: string }) => ((posted = b.body), { id: 1 }));
    await new GitHubIssues(octokit(), "o", "r", APP_ID).comment(1, `token ghs_16C7e42F292c6912E7710c838347Ae178B4a ${"x".repeat(70_000)}`);
    expect(posted).not.toContain("ghs_16C7e42F");
    expect(posted).toContain("[redacted GitHub token]");
    expect(posted.length).toBeLessThanOrEqual(65_536);
    expect(posted.endsWith("… (cut to fit GitHub's comment size limit)")).toBe(true);
  });

  it("reads permissions, with maintain from role_name and none for non-collaborators", async () => {
    nock(API)
      .get("/repos/o/r/collaborators/m/permission")
      .reply(200, { permission: "write", role_name: "maintain", user: { login: "m" } })
      .get("/repos/o/r/collaborators/x/permission")
      .reply(404, { message: "Not Found" });
    const gh = new GitHubIssues(octokit(), "o", "r", APP_ID);
    expect(await gh.permission("m")).toBe("maintain");
    expect(await gh.permission("x")).toBe("none");
  });
});
