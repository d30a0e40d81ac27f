/**
 * Replays spend nothing (issue 27): a captured, validly signed body sent again under a new
 * delivery id, an event older than GitHub keeps deliveries, and review comments that would
 * postpone a revision for ever. Each attack goes through the webhook path as GitHub's deliveries do.
 */
import { createHmac } from "node:crypto";
import nock from "nock";
import { QUEUE } from "../../src/queue/jobs.js";
import { createTestApp, WEBHOOK_SECRET, type TestApp } from "../helpers/app.js";
import { describeEachDb } from "../helpers/db.js";
import { eventually } from "../helpers/eventually.js";
import { configFile, installationToken, permission } from "../helpers/github.js";
import { captureLog } from "../helpers/log.js";
import { ScriptedModel } from "../../src/llm/scripted-model.js";
import { issueComment, issuesLabeled, reviewCommentCreated, type Payload } from "../helpers/webhooks.js";

beforeAll(() => nock.disableNetConnect());
afterAll(() => nock.enableNetConnect());

const DAY = 24 * 3600_000;

describeEachDb("replays on %s", (kind) => {
  let app: TestApp;
  let model: ScriptedModel;
  const captured = captureLog("info");
  beforeEach(async () => {
    nock.cleanAll();
    model = new ScriptedModel([]);
    app = await createTestApp(kind, captured.log, { model: { provider: "anthropic", call: (r, o) => model.call(r, o) } });
  });
  afterEach(async () => {
    await app.close();
    nock.cleanAll();
    expect(app.github.errors).toEqual([]);
  });

  const count = async (sql: string, params: unknown[] = []) =>
    (await app.services.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${sql}`, params)).rows[0]!.n;
  /** A delivery as GitHub sends it: the body signed with the webhook secret, checked before it is read. */
  const signed = (id: string, name: string, body: string) =>
    app.probot.webhooks.verifyAndReceive({
      id,
      name: name as never,
      payload: body,
      signature: `sha256=${createHmac("sha256", WEBHOOK_SECRET).update(body).digest("hex")}`,
    });

  it("a signed issues.labeled body replayed under a new delivery id is the same delivery: one job", async () => {
    const body = JSON.stringify(issuesLabeled("ai-ready"));
    await signed("d-original", "issues", body);
    await signed("d-replayed", "issues", body);
    await signed("d-original", "issues", body); // GitHub's own redelivery: same id, same body
    expect(await count("deliveries")).toBe(1);
    expect((await app.services.deliveries.get("d-original"))?.job_id).toBeTruthy();
    expect(await app.services.deliveries.get("d-replayed")).toBeUndefined();
    expect(await count("pgboss.job WHERE name = $1", [QUEUE.trigger])).toBe(1);
    // a new label event (its own body) is a delivery of its own
    await signed("d-next", "issues", JSON.stringify(issuesLabeled("ai-ready")));
    expect(await count("pgboss.job WHERE name = $1", [QUEUE.trigger])).toBe(2);
  });

  it("a /retry comment body replayed under a new delivery id starts nothing more", async () => {
    const payload = issueComment("/retry");
    await app.probot.receive({ id: "c-original", name: "issue_comment", payload } as never);
    await app.probot.receive({ id: "c-replayed", name: "issue_comment", payload: structuredClone(payload) } as never);
    expect(await count("deliveries")).toBe(1);
    expect(await count("pgboss.job WHERE name = $1", [QUEUE.command])).toBe(1);
  });

  it("an event older than GitHub keeps deliveries is acknowledged, logged and dropped", async () => {
    const old = new Date(Date.now() - 4 * DAY).toISOString();
    const labeled = issuesLabeled("ai-ready");
    labeled.issue.updated_at = old;
    const retry = issueComment("/retry");
    retry.comment.created_at = old;
    retry.comment.updated_at = old;
    retry.issue.updated_at = old;
    await signed("old-label", "issues", JSON.stringify(labeled));
    await signed("old-retry", "issue_comment", JSON.stringify(retry));
    expect(await count("deliveries")).toBe(0);
    expect(await count("pgboss.job")).toBe(0);
    const said = captured.lines().filter((l) => /older than GitHub keeps deliveries \(72 h\): a replay, ignored/.test(String(l.msg)));
    expect(said.map((l) => l.delivery)).toEqual(["old-label", "old-retry"]);
    // within the window (a late redelivery two days on) it is acted on
    const late = issuesLabeled("ai-ready");
    late.issue.updated_at = new Date(Date.now() - 2 * DAY).toISOString();
    await signed("late-label", "issues", JSON.stringify(late));
    expect(await count("deliveries")).toBe(1);
  });

  describe("review comments on Tollgate's pull request", () => {
    const O = "Codertocat";
    const R = "Hello-World";
    const reviewComment = (id: number, login: string, at: number) => ({
      id,
      user: { login, type: "User" },
      path: "src/greet.js",
      line: 2,
      diff_hunk: "@@ -1 +1 @@",
      body: `Please change line 2 (${id}).`,
      created_at: new Date(at).toISOString(),
    });
    /** The PR's review comments as GitHub lists them, and who may write. */
    const github = (comments: ReturnType<typeof reviewComment>[], access: Record<string, "write" | "read">) => [
      installationToken(payloadInstallation()),
      configFile(O, R, undefined),
      configFile(O, ".github", undefined),
      nock("https://api.github.com")
        .post("/graphql")
        .reply(200, { data: { viewer: { login: "tollgate[bot]" } } }),
      nock("https://api.github.com").get(`/repos/${O}/${R}/pulls/100/comments`).query(true).reply(200, comments),
      nock("https://api.github.com").get(`/repos/${O}/${R}/pulls/100/reviews`).query(true).reply(200, []),
      ...Object.entries(access).map(([login, level]) => permission(O, R, login, level)),
    ];
    const payloadInstallation = () => reviewCommentCreated({ id: 1, body: "x", path: "a", line: 1 }).installation.id as number;
    /** Tollgate's run whose PR is #100, an hour old. */
    const ranBefore = async (payload: Payload) =>
      app.services.db.query(
        `INSERT INTO runs (installation_id, repository_id, owner, repo, issue_number, status, pr_number, created_at)
         VALUES ($1, $2, $3, $4, 1, 'succeeded', 100, now() - interval '1 hour')`,
        [payload.installation.id, payload.repository.id, O, R],
      );
    const handled = (id: string) =>
      eventually(async () => {
        const d = await app.services.deliveries.get(id);
        return d && d.status !== "received" && d;
      });

    it("a reader's comments never postpone a revision (nor start one)", async () => {
      const now = Date.now();
      const payload = reviewCommentCreated({
        id: 701,
        body: "Please change line 2 (701).",
        path: "src/greet.js",
        line: 2,
        login: "stranger",
      });
      payload.comment.created_at = new Date(now).toISOString();
      await ranBefore(payload);
      const scopes = github([reviewComment(701, "stranger", now)], { stranger: "read" });
      await app.probot.receive({ id: "r-701", name: "pull_request_review_comment", payload } as never);
      await app.startWorkers(1, { queues: [QUEUE.revise] });
      const d = await handled("r-701");
      expect(d).toMatchObject({ status: "ignored", detail: expect.stringContaining("no review comment from someone with write access") });
      expect(await count("pgboss.job WHERE name = $1", [QUEUE.revise])).toBe(1); // not queued again
      expect(model.requests).toHaveLength(0);
      for (const scope of scopes) expect(scope.pendingMocks()).toEqual([]);
    });

    it("more comments postpone a revision at most three quiet periods after the first", async () => {
      const now = Date.now();
      // the first word 200 s ago, the latest 5 s ago: quiet (60 s) is not reached, the cap (180 s) is
      const comments = [reviewComment(801, "Codertocat", now - 200_000), reviewComment(802, "Codertocat", now - 5_000)];
      const payload = reviewCommentCreated({ id: 802, body: comments[1]!.body, path: "src/greet.js", line: 2 });
      payload.comment.created_at = comments[1]!.created_at;
      await ranBefore(payload);
      const scopes = github(comments, { Codertocat: "write" });
      await app.probot.receive({ id: "r-802", name: "pull_request_review_comment", payload } as never);
      await app.startWorkers(1, { queues: [QUEUE.revise] });
      const d = await handled("r-802");
      // it goes on at once: here there is no plan to revise from, so nothing is spent
      expect(d).toMatchObject({ status: "ignored", detail: "the issue has no plan to revise from" });
      expect(await count("pgboss.job WHERE name = $1", [QUEUE.revise])).toBe(1);
      expect(model.requests).toHaveLength(0);
      for (const scope of scopes) expect(scope.pendingMocks()).toEqual([]);
    });
  });
});
