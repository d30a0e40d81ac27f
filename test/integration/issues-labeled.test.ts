import nock from "nock";
import { jobIdForDelivery } from "../../src/queue/job-id.js";
import { QUEUE } from "../../src/queue/jobs.js";
import { createTestApp, type TestApp } from "../helpers/app.js";
import { eventually } from "../helpers/eventually.js";
import { DB_KINDS } from "../helpers/db.js";
import { configFile, installationToken } from "../helpers/github.js";
import { captureLog } from "../helpers/log.js";
import { INSTALLATION_ID, issuesLabeled, type Payload } from "../helpers/webhooks.js";

beforeAll(() => nock.disableNetConnect());
afterAll(() => nock.enableNetConnect());

describe.each(DB_KINDS)("issues.labeled on %s", (kind) => {
  let app: TestApp;
  const captured = captureLog();

  beforeEach(async () => {
    nock.cleanAll();
    app = await createTestApp(kind, captured.log);
  });
  afterEach(async () => {
    await app.close();
    nock.cleanAll();
    expect(app.github.errors).toEqual([]); // every request matched GitHub's OpenAPI description
  });

  const receive = (id: string, payload: Payload) => app.probot.receive({ id, name: "issues", payload } as never);
  const count = async (sql: string, params: unknown[] = []) =>
    (await app.services.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${sql}`, params)).rows[0]!.n;
  const delivery = (id: string) =>
    eventually(async () => {
      const d = await app.services.deliveries.get(id);
      return d && d.status !== "received" && d;
    });

  it("enqueues the trigger; the worker reads the repo config and creates one queued run", async () => {
    await receive("d-ready", issuesLabeled("ai-ready"));
    expect(await count("pgboss.job WHERE name = $1", [QUEUE.trigger])).toBe(1);
    expect(await count("runs")).toBe(0); // the handler only enqueues

    const github = [installationToken(INSTALLATION_ID), configFile("Codertocat", "Hello-World", undefined), configFile("Codertocat", ".github", undefined)];
    await app.startWorkers();
    expect(await delivery("d-ready")).toMatchObject({ status: "done", job_id: jobIdForDelivery("d-ready") });
    const { rows } = await app.services.db.query<Record<string, unknown>>(
      "SELECT owner, repo, issue_number, status, delivery_id, budget_usd_micros FROM runs",
    );
    expect(rows).toEqual([
      { owner: "Codertocat", repo: "Hello-World", issue_number: 1, status: "queued", delivery_id: "d-ready", budget_usd_micros: 5_000_000 },
    ]);
    for (const scope of github) expect(scope.isDone()).toBe(true);
    expect(app.github.requests).toContain("GET /repos/{owner}/{repo}/contents/{path}");
  });

  it("turns the same delivery received 5 times at once into one job and one run", async () => {
    await Promise.all(Array.from({ length: 5 }, () => receive("d-same", issuesLabeled("ai-ready"))));
    expect(await count("pgboss.job WHERE name = $1", [QUEUE.trigger])).toBe(1);
    expect(await count("deliveries")).toBe(1);
    const github = [installationToken(INSTALLATION_ID), configFile("Codertocat", "Hello-World", undefined), configFile("Codertocat", ".github", undefined)];
    await app.startWorkers();
    await delivery("d-same");
    expect(await count("runs")).toBe(1);
    for (const scope of github) expect(scope.isDone()).toBe(true);
  });

  it("ignores bots, the app itself included: nothing recorded, nothing queued", async () => {
    await receive("d-bot", issuesLabeled("ai-ready", "Bot"));
    expect(await count("deliveries")).toBe(0);
    expect(await count("pgboss.job WHERE name = $1", [QUEUE.trigger])).toBe(0);
  });

  it("uses the repo's trigger label and ignores other labels, saying why", async () => {
    await receive("d-bug", issuesLabeled("bug"));
    await receive("d-custom", issuesLabeled("tollgate"));
    const github = [
      installationToken(INSTALLATION_ID) /* the token is cached for the second job */,
      configFile("Codertocat", "Hello-World", "trigger:\n  label: tollgate\n", 2),
    ];
    await app.startWorkers();
    expect(await delivery("d-bug")).toMatchObject({ status: "ignored", detail: 'label "bug" is not the trigger label "tollgate"' });
    expect(await delivery("d-custom")).toMatchObject({ status: "done" });
    expect(await count("runs")).toBe(1);
    for (const scope of github) expect(scope.isDone()).toBe(true);
  });

  it("takes defaults from the org's .github repository when the repo has no file", async () => {
    await receive("d-org", issuesLabeled("ai-ready"));
    const github = [
      installationToken(INSTALLATION_ID),
      configFile("Codertocat", "Hello-World", undefined),
      configFile("Codertocat", ".github", "trigger:\n  label: org-label\n"),
    ];
    await app.startWorkers();
    expect(await delivery("d-org")).toMatchObject({ status: "ignored", detail: 'label "ai-ready" is not the trigger label "org-label"' });
    for (const scope of github) expect(scope.isDone()).toBe(true);
  });

  it("records an invalid tollgate.yml with the bad key and makes no run", async () => {
    await receive("d-typo", issuesLabeled("ai-ready"));
    await receive("d-yaml", { ...issuesLabeled("ai-ready"), issue: { ...issuesLabeled().issue, number: 2 } });
    const github = [
      installationToken(INSTALLATION_ID) /* the token is cached for the second job */,
      configFile("Codertocat", "Hello-World", "trigger:\n  lable: ai-ready\n"),
      configFile("Codertocat", "Hello-World", "trigger: [unclosed\n"),
    ];
    await app.startWorkers();
    const typo = await delivery("d-typo");
    const yaml = await delivery("d-yaml");
    const details = [typo.detail, yaml.detail].sort();
    expect([typo.status, yaml.status]).toEqual(["failed", "failed"]);
    expect(details.some((d) => d === ".github/tollgate.yml is invalid: `trigger.lable`: unknown key")).toBe(true);
    expect(details.some((d) => /^\.github\/tollgate\.yml is invalid: Configuration could not be parsed from .* \(invalid YAML\): /.test(d ?? ""))).toBe(true);
    expect(await count("runs")).toBe(0);
    for (const scope of github) expect(scope.isDone()).toBe(true);
  });

  it("refuses a second run of an issue while one is active", async () => {
    await receive("d-first", issuesLabeled("ai-ready"));
    await receive("d-second", issuesLabeled("ai-ready"));
    const github = [installationToken(INSTALLATION_ID) /* the token is cached for the second job */, configFile("Codertocat", "Hello-World", "{}\n", 2)];
    await app.startWorkers();
    const outcomes = [await delivery("d-first"), await delivery("d-second")].map((d) => d.status).sort();
    expect(outcomes).toEqual(["done", "ignored"]);
    expect(await count("runs")).toBe(1);
    for (const scope of github) expect(scope.isDone()).toBe(true);
  });
});
