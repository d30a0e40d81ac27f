import nock from "nock";
import { ProbotOctokit } from "probot";
import type { Octokit } from "../../../src/github/issues.js";
import { GitHubPulls } from "../../../src/github/pulls.js";
import { pendingThreads } from "../../../src/pipeline/review-threads.js";
import { captureLog } from "../../helpers/log.js";
import { GitHubRequestValidator } from "../../helpers/openapi.js";

const API = "https://api.github.com";
const validator = new GitHubRequestValidator();
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

/** A review comment as GET …/pulls/{n}/comments lists it (review comments carry no performed_via_github_app). */
const comment = (id: number, user: { login: string; type: "User" | "Bot" }, body: string, inReplyTo?: number) => ({
  id,
  ...(inReplyTo ? { in_reply_to_id: inReplyTo } : {}),
  user,
  path: "src/greet.js",
  line: 3,
  diff_hunk: "@@ -1 +1 @@",
  body,
  created_at: new Date(Date.UTC(2025, 4, 12, 10, id)).toISOString(),
});
const ada = { login: "ada", type: "User" } as const;
const tollgate = { login: "tollgate[bot]", type: "Bot" } as const;
const otherBot = { login: "other-app[bot]", type: "Bot" } as const;
const actions = { login: "github-actions[bot]", type: "Bot" } as const;

/** GitHub answering one PR's review comments, and GraphQL's viewer for the installation token (its bot user). */
function github(comments: unknown[]) {
  const viewer: string[] = [];
  const scope = nock(API)
    .get("/repos/o/r/pulls/5/comments")
    .query({ per_page: "100" })
    .reply(200, comments)
    .post("/graphql")
    .reply(200, (_u: string, b: { query: string }) => (viewer.push(b.query), { data: { viewer: { login: "tollgate[bot]" } } }));
  return { scope, viewer };
}

describe("GitHubPulls: Tollgate's own review comments", () => {
  it("tells its own replies (its bot user) from another bot's and a person's", async () => {
    const { scope, viewer } = github([
      comment(1, ada, "Use a constant."),
      comment(2, tollgate, "Done in 4f2c9a1: added GREETING.", 1),
      comment(3, otherBot, "Done in 4f2c9a1: added GREETING.", 1),
      comment(4, actions, "Lint: ok"),
    ]);
    const pulls = new GitHubPulls(octokit(), "o", "r");
    expect((await pulls.reviewComments(5)).map((c) => [c.id, c.authorIsBot, c.mine])).toEqual([
      [1, false, false],
      [2, true, true],
      [3, true, false],
      [4, true, false],
    ]);
    expect(viewer).toEqual(["query { viewer { login } }"]);
    expect(scope.isDone()).toBe(true);
  });

  it("keeps a person's question pending when another bot replies in the thread (the attack), and not once Tollgate answered", async () => {
    const { scope } = github([
      comment(10, ada, "Why was the old greeting removed?"),
      // another bot answers as if it were Tollgate, in its words
      comment(11, otherBot, "Done in 4f2c9a1: it was unused.", 10),
      comment(12, actions, "Done in 4f2c9a1: it was unused.", 10),
      // a thread Tollgate did answer, then another bot had the last word: still answered
      comment(20, ada, "Rename it."),
      comment(21, tollgate, "Done in 4f2c9a1: renamed.", 20),
      comment(22, otherBot, "Please also rename the tests.", 20),
      // a thread another bot started: nothing to answer
      comment(30, actions, "Coverage dropped."),
    ]);
    const pulls = new GitHubPulls(octokit(), "o", "r");
    const pending = pendingThreads(await pulls.reviewComments(5));
    expect(pending.map((p) => [p.root.id, p.asks.map((c) => c.id)])).toEqual([[10, [10]]]);
    expect(scope.isDone()).toBe(true);
  });

  it("asks GraphQL for its login once per GitHubPulls", async () => {
    const scope = nock(API)
      .get("/repos/o/r/pulls/5/comments")
      .query({ per_page: "100" })
      .times(2)
      .reply(200, [comment(1, ada, "Hm?")])
      .post("/graphql")
      .reply(200, { data: { viewer: { login: "tollgate[bot]" } } });
    const pulls = new GitHubPulls(octokit(), "o", "r");
    await pulls.reviewComments(5);
    await pulls.reviewComments(5);
    expect(scope.isDone()).toBe(true);
    expect(nock.pendingMocks()).toEqual([]);
  });
});
