/**
 * Local runs (`tollgate run`, `tollgate eval`) are first-class runs: the runs table records how
 * each ended, also when it threw or was interrupted; a run whose process stopped never blocks the
 * next one and is never taken over as if it were the app's; each issue file is an issue of its own.
 * `runLocal` in process, on the embedded database, a local git repository and scripted answers.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { localConfig, LocalRunError, localRepositoryId, runLocal, type LocalRunInput } from "../../src/app/local-run.js";
import { loadEnv, type AppEnv } from "../../src/config/env.js";
import type { Database } from "../../src/db/database.js";
import { migrate } from "../../src/db/migrate.js";
import { usdToMicros } from "../../src/llm/money.js";
import { RoutedScriptedModel, type ScriptStep } from "../../src/llm/scripted-model.js";
import { RunCancelled } from "../../src/pipeline/phase.js";
import { RunStore } from "../../src/stores/runs.js";
import { freshDatabase } from "../helpers/db.js";
import { git } from "../helpers/git.js";
import { CONFIG, project } from "../helpers/greeter.js";
import { gateAnswer } from "../helpers/issue-on-github.js";
import { captureLog } from "../helpers/log.js";

const ISSUE = { title: "greet() should say hi", body: "`greet('Ada')` returns `Hello Ada`; it should return `Hi Ada`." };

describe("local runs are first-class runs", () => {
  let db: Database;
  let env: AppEnv;
  let seed: string;
  const { log } = captureLog("info");

  beforeEach(async () => {
    ({ seed } = project());
    mkdirSync(path.join(seed, ".github"), { recursive: true });
    writeFileSync(path.join(seed, ".github/tollgate.yml"), CONFIG());
    git(seed, "add", "-A");
    git(seed, "-c", "user.name=Human", "-c", "user.email=human@example.com", "commit", "-q", "-m", "settings");
    const dir = mkdtempSync(path.join(tmpdir(), "tollgate-local-runs-"));
    env = loadEnv({ TOLLGATE_DATA_DIR: path.join(dir, "data"), ANTHROPIC_API_KEY: "" }, dir);
    db = await freshDatabase("pglite");
    await migrate(db);
  });
  afterEach(() => db.close());

  const input = (script: Record<string, ScriptStep[]>, issueKey = "/issues/greet-hi.md", signal?: AbortSignal): LocalRunInput => ({
    repo: seed,
    issue: ISSUE,
    issueKey,
    branch: "tollgate/greet-hi",
    config: localConfig(seed),
    budgetMicros: usdToMicros(5),
    port: new RoutedScriptedModel(script),
    signal,
  });
  const rows = async () =>
    (
      await db.query<{ id: string; status: string; error: string | null; issue_number: number; repository_id: string }>(
        "SELECT id, status, error, issue_number, repository_id FROM runs ORDER BY created_at",
      )
    ).rows;

  it("records a run that threw as failed, with why, and the next run of the same data folder goes ahead", async () => {
    // no answer for the gate: the run throws (as with a bad key or an unreachable API)
    const failure = await runLocal(env, log, db, input({})).then(
      () => new Error("the run did not throw"),
      (error: unknown) => error as Error,
    );
    const [failed] = await rows();
    expect(failed).toMatchObject({ status: "failed", error: failure.message, issue_number: 1 });
    // the next run of the same issue file: not blocked, the same issue
    const next = await runLocal(env, log, db, input({ gate: [gateAnswer(false)] }));
    expect(next).toMatchObject({ ready: false, status: "needs_spec" });
    // another issue file: an issue of its own, in the same repository
    await runLocal(env, log, db, input({ gate: [gateAnswer(false)] }, "/issues/other.md"));
    const all = await rows();
    expect(all.map((r) => [r.status, r.issue_number])).toEqual([
      ["failed", 1],
      ["needs_spec", 1],
      ["needs_spec", 2],
    ]);
    expect(new Set(all.map((r) => Number(r.repository_id)))).toEqual(new Set([localRepositoryId(path.resolve(seed))]));
  });

  it("records Ctrl-C as cancelled", async () => {
    const controller = new AbortController();
    controller.abort(new RunCancelled("interrupted (Ctrl-C)"));
    await expect(runLocal(env, log, db, input({ gate: [gateAnswer(true)] }, undefined, controller.signal))).rejects.toBeInstanceOf(
      RunCancelled,
    );
    expect(await rows()).toEqual([expect.objectContaining({ status: "cancelled" })]);
  });

  it("closes a run whose process stopped (a crash, a kill, or a run from before local runs beat) and never takes it over as the app's", async () => {
    // what a crashed `tollgate run` of an older version left: running, issue 0, no heartbeat
    await db.query(
      `INSERT INTO runs (installation_id, repository_id, owner, repo, issue_number, status, budget_usd_micros, started_at)
       VALUES (0, 0, 'local', 'greeter', 0, 'running', 1000000, now())`,
    );
    // and one of this version whose heartbeat stopped a minute ago
    await db.query(
      `INSERT INTO runs (installation_id, repository_id, owner, repo, issue_number, local_issue, status, budget_usd_micros, lease, heartbeat_at)
       VALUES (0, $1, 'local', 'greeter', 1, '/issues/greet-hi.md', 'running', 1000000, gen_random_uuid(), now() - interval '1 minute')`,
      [localRepositoryId(path.resolve(seed))],
    );
    expect(await new RunStore(db).takeOverStale(1)).toEqual([]); // the app's sweep leaves local runs alone
    await runLocal(env, log, db, input({ gate: [gateAnswer(false)] }));
    const [legacy, stopped, next] = await rows();
    for (const run of [legacy, stopped])
      expect(run).toMatchObject({
        status: "failed",
        error: "interrupted: the process that ran it stopped (Ctrl-C, a crash or a kill) before it ended",
      });
    expect(next).toMatchObject({ status: "needs_spec", issue_number: 1 });
  });

  it("refuses a second run of an issue while the first is alive, saying which", async () => {
    const { rows: alive } = await db.query<{ id: string }>(
      `INSERT INTO runs (installation_id, repository_id, owner, repo, issue_number, local_issue, status, budget_usd_micros, lease, heartbeat_at)
       VALUES (0, $1, 'local', 'greeter', 1, '/issues/greet-hi.md', 'running', 1000000, gen_random_uuid(), now()) RETURNING id`,
      [localRepositoryId(path.resolve(seed))],
    );
    const refused = await runLocal(env, log, db, input({ gate: [gateAnswer(true)] })).then(
      () => new Error("the run was not refused"),
      (error: unknown) => error as Error,
    );
    expect(refused).toBeInstanceOf(LocalRunError);
    expect(refused.message).toContain(`a run of this issue is already going in this data folder (run ${alive[0]!.id})`);
    expect((await rows()).map((r) => r.status)).toEqual(["running"]);
  });
});
