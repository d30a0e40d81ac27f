import nock from "nock";
import { ProbotOctokit } from "probot";
import { GitHubIssues, STICKY_MARKER, type Octokit } from "../../../src/github/issues.js";
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
    await new GitHubIssues(octokit(), "o", "r").comment(1, "hello");
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
        { id: 6, body: `${STICKY_MARKER}\nold`, user: { login: "tollgate[bot]", type: "Bot" } },
      ])
      .patch("/repos/o/r/issues/comments/6")
      .reply(200, (_u: string, b: { body: string }) => (edits.push(b.body), { id: 6 }))
      .get("/repos/o/r/issues/1/comments")
      .query({ per_page: "100" })
      .reply(200, [])
      .post("/repos/o/r/issues/1/comments")
      .reply(201, (_u: string, b: { body: string }) => (creates.push(b.body), { id: 7 }));
    const gh = new GitHubIssues(octokit(), "o", "r");
    expect(await gh.upsertSticky(1, "verdict")).toBe(6);
    expect(await gh.upsertSticky(1, "verdict again")).toBe(7);
    expect(edits).toEqual([`${STICKY_MARKER}\nverdict`]);
    expect(creates).toEqual([`${STICKY_MARKER}\nverdict again`]);
  });

  it("masks secrets and cuts bodies to GitHub's 65,536-character limit before posting", async () => {
    let posted = "";
    nock(API)
      .post("/repos/o/r/issues/1/comments")
      .reply(201, (_u: string, b: { body: string }) => ((posted = b.body), { id: 1 }));
    await new GitHubIssues(octokit(), "o", "r").comment(1, `token ghs_16C7e42F292c6912E7710c838347Ae178B4a ${"x".repeat(70_000)}`);
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
    const gh = new GitHubIssues(octokit(), "o", "r");
    expect(await gh.permission("m")).toBe("maintain");
    expect(await gh.permission("x")).toBe("none");
  });
});
