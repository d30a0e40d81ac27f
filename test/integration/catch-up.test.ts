/**
 * Catch-up after downtime: Tollgate was down while a label, a command and a review were
 * delivered (GitHub lists them as failed); at start it asks GitHub to redeliver each once, and
 * what GitHub then sends again (same X-GitHub-Delivery) is handled once. GitHub's deliveries
 * list and redelivery endpoint are played by nock, each request checked against the OpenAPI
 * description; the redelivered payloads go through `probot.receive` as GitHub would send them.
 */
import nock from "nock";
import { CatchUp } from "../../src/app/catch-up.js";
import { QUEUE, type QueueName } from "../../src/queue/jobs.js";
import type { Octokit } from "../../src/github/issues.js";
import { createTestApp, type TestApp } from "../helpers/app.js";
import { eventually } from "../helpers/eventually.js";
import { API } from "../helpers/github.js";
import { captureLog } from "../helpers/log.js";
import { INSTALLATION_ID, issueComment, issuesLabeled, reviewSubmitted, type Payload } from "../helpers/webhooks.js";

const NOW = Date.now();
const HOUR = 3_600_000;
let nextId = 5000;

/** A delivery attempt as GET /app/hook/deliveries lists it. */
function listed(guid: string, event: string, action: string, agoMs: number, code = 502, redelivery = false) {
  return {
    id: nextId++,
    guid,
    delivered_at: new Date(NOW - agoMs).toISOString(),
    redelivery,
    duration: 0.1,
    status: code === 200 ? "OK" : code === 0 ? "timed out" : `Invalid HTTP Response: ${code}`,
    status_code: code,
    event,
    action,
    installation_id: INSTALLATION_ID,
    repository_id: 186853002,
    throttled_at: null,
  };
}
type Listed = ReturnType<typeof listed>;

/** One page of the list; `next` is the cursor GitHub puts in the Link header. */
function page(items: Listed[], cursor?: string, next?: string): nock.Scope {
  const query: Record<string, string> = { per_page: "100", ...(cursor ? { cursor } : {}) };
  const link = next ? { link: `<${API}/app/hook/deliveries?per_page=100&cursor=${next}>; rel="next"` } : undefined;
  return nock(API).get("/app/hook/deliveries").query(query).reply(200, items, link);
}

/** Redeliveries GitHub accepts, once each; their ids land in `asked`. */
function redeliveries(ids: number[], asked: number[]): nock.Scope {
  const scope = nock(API);
  for (const id of ids)
    scope.post(`/app/hook/deliveries/${id}/attempts`).reply(202, () => {
      asked.push(id);
      return {};
    });
  return scope;
}

describe("catch-up of missed webhook deliveries", () => {
  let app: TestApp;
  const captured = captureLog();
  let catchUp: CatchUp;

  beforeAll(() => nock.disableNetConnect());
  afterAll(() => nock.enableNetConnect());
  beforeEach(async () => {
    app = await createTestApp("pglite", captured.log);
    const auth = async () => (await app.probot.auth()) as Octokit;
    catchUp = new CatchUp(auth, app.services.deliveries, captured.log, { lookbackHours: 72, spacingMs: 0 });
  });
  afterEach(async () => {
    await catchUp.stop();
    await app.close();
    nock.cleanAll();
  });

  const receive = (name: string, payload: Payload, id: string) => app.probot.receive({ id, name, payload } as never);
  const jobs = async (queue: QueueName) =>
    (await app.services.db.query<{ n: number }>("SELECT count(*)::int AS n FROM pgboss.job WHERE name = $1", [queue])).rows[0]!.n;

  it("redelivers the label, command and review missed while down, once each, and each is handled once", async () => {
    const label = listed("g-label", "issues", "labeled", 2 * HOUR, 0);
    const command = listed("g-cancel", "issue_comment", "created", 1.5 * HOUR, 502);
    const review = listed("g-review", "pull_request_review", "submitted", 1 * HOUR, 503);
    // recorded by Tollgate, though GitHub gave up waiting for its answer: not asked for again
    const handled = listed("g-handled", "issues", "labeled", 0.5 * HOUR, 0);
    await receive("issues", issuesLabeled("ai-ready"), "g-handled");
    // delivered later, successfully; and one older than the look-back
    const fine = listed("g-fine", "issue_comment", "created", 0.2 * HOUR, 200);
    const old = listed("g-old", "issues", "labeled", 80 * HOUR, 0);
    // two pages (newest first), the second by the cursor of the first's Link header; the page
    // that reaches past the look-back is the last one asked for (no interceptor for a third)
    const list = [page([fine, handled, review], undefined, "v1_page2"), page([command, label, old], "v1_page2", "v1_page3")];
    const asked: number[] = [];
    const posts = redeliveries([label.id, command.id, review.id], asked);

    expect(await catchUp.sweep()).toEqual({
      lastRunAt: expect.any(String),
      redelivered: 3,
      skipped: 1,
      failed: 0,
    });
    for (const scope of [...list, posts]) expect(scope.isDone()).toBe(true);
    expect(asked.sort()).toEqual([label.id, command.id, review.id].sort());
    expect(app.github.errors).toEqual([]);
    expect(app.github.requests.filter((r) => r.includes("/app/hook/"))).toEqual([
      "GET /app/hook/deliveries",
      "GET /app/hook/deliveries",
      "POST /app/hook/deliveries/{delivery_id}/attempts",
      "POST /app/hook/deliveries/{delivery_id}/attempts",
      "POST /app/hook/deliveries/{delivery_id}/attempts",
    ]);

    // GitHub sends them again, with their guids (and, as may happen, one of them twice)
    await receive("issues", issuesLabeled("ai-ready"), "g-label");
    await receive("issue_comment", issueComment("/cancel"), "g-cancel");
    await receive("pull_request_review", reviewSubmitted({ id: 77, body: "Please rename it." }), "g-review");
    await receive("issue_comment", issueComment("/cancel"), "g-cancel");
    for (const guid of ["g-label", "g-cancel", "g-review"])
      expect(await app.services.deliveries.get(guid)).toMatchObject({ id: guid, status: "received" });
    expect([await jobs(QUEUE.trigger), await jobs(QUEUE.command), await jobs(QUEUE.revise)]).toEqual([2, 1, 1]); // g-handled's and g-label's

    // the next sweep sees the redeliveries succeed and asks for nothing
    const again = page([
      listed("g-review", "pull_request_review", "submitted", 60_000, 200, true),
      listed("g-cancel", "issue_comment", "created", 60_000, 200, true),
      listed("g-label", "issues", "labeled", 60_000, 200, true),
      fine,
      handled,
      review,
      command,
      label,
      old,
    ]);
    expect(await catchUp.sweep()).toMatchObject({ redelivered: 0, skipped: 1, failed: 0 }); // g-handled, recorded
    expect(again.isDone()).toBe(true);
    expect(catchUp.report()).not.toHaveProperty("error");
  });

  it("a redelivered label that is now stale does nothing: the issue no longer carries it", async () => {
    nock(API)
      .persist()
      .post(`/app/installations/${INSTALLATION_ID}/access_tokens`)
      .reply(201, { token: "ghs_catchuptoken00000000000000000000001", expires_at: "2099-01-01T00:00:00Z" })
      .get(/\/repos\/[^/]+\/[^/]+\/contents\/.github%2Ftollgate.yml$/)
      .reply(404, { message: "Not Found" })
      .get("/repos/Codertocat/Hello-World/issues/1")
      .reply(200, { number: 1, title: "t", body: "b", state: "open", labels: [], user: { login: "Codertocat", type: "User" } });
    const label = listed("g-stale", "issues", "labeled", HOUR, 0);
    const scopes = [page([label]), redeliveries([label.id], [])];
    expect(await catchUp.sweep()).toMatchObject({ redelivered: 1 });
    for (const scope of scopes) expect(scope.isDone()).toBe(true);
    await receive("issues", issuesLabeled("ai-ready"), "g-stale");
    await app.startWorkers(1, { queues: [QUEUE.trigger, QUEUE.dead] });
    const done = await eventually(async () => {
      const d = await app.services.deliveries.get("g-stale");
      return d?.status !== "received" && d;
    });
    expect(done).toMatchObject({ status: "ignored", detail: 'label event on an issue that is no longer labelled "ai-ready"' });
    expect(app.github.errors).toEqual([]);
  });

  it("a 403 rate-limit answer stops the sweep, is reported, and the next sweep waits for the reset", async () => {
    const a = listed("g-a", "issues", "labeled", HOUR, 0);
    const b = listed("g-b", "issues", "labeled", 2 * HOUR, 0);
    const reset = Math.floor(NOW / 1000) + 3600;
    const list = page([a, b]);
    const refused = nock(API)
      .post(`/app/hook/deliveries/${a.id}/attempts`)
      .reply(403, { message: "API rate limit exceeded" }, { "x-ratelimit-remaining": "0", "x-ratelimit-reset": String(reset) });
    const report = await catchUp.sweep();
    expect(report).toMatchObject({ redelivered: 0, failed: 0, error: expect.stringContaining("rate limit (HTTP 403)") });
    expect(list.isDone() && refused.isDone()).toBe(true);
    // b was never asked for; and the next sweep asks GitHub nothing until the reset
    expect(app.github.requests.filter((r) => r.startsWith("POST /app/hook"))).toHaveLength(1);
    expect(await catchUp.sweep()).toBe(report);
    expect(app.github.requests.filter((r) => r.includes("/app/hook/"))).toHaveLength(2);
    expect(captured.text()).not.toMatch(/eyJ[\w-]+\.[\w-]+/); // the app's JWT is never logged
  });
});
