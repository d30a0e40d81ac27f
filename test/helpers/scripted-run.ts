/**
 * One whole run, as GitHub and Anthropic drive it (the greeter project passing first time): an
 * `issues.labeled` delivery through `probot.receive`, the real queue and workers, GitHub played
 * by nock (FakeGitHub), git over a local `git http-backend`, and a scripted model with realistic
 * usage. For tests that need a finished run to look at (the dashboard, /metrics, traces).
 */
import nock from "nock";
import type { Logger } from "pino";
import { RoutedScriptedModel, type ScriptStep } from "../../src/llm/scripted-model.js";
import { createTestApp, type TestApp } from "./app.js";
import type { DbKind } from "./db.js";
import { eventually } from "./eventually.js";
import { FakeGitHub } from "./fake-github.js";
import { gitHttpServer, type GitHttpServer } from "./git.js";
import { approve, CONFIG, done, edit, gate, planOf, project, TITLE, unit } from "./greeter.js";
import { INSTALLATION_ID, issuesLabeled } from "./webhooks.js";

export const RUN_OWNER = "Codertocat";
export const RUN_REPO = "Hello-World";
const TOKEN = "ghs_e2einstallationtoken00000000000000001";

export interface ScriptedRun {
  app: TestApp;
  gh: FakeGitHub;
  run: { id: string; status: string; pr_number: number | null };
  /** The pull request's body, as the app wrote it. */
  prBody: string;
  /** Every request the model was sent, by agent. */
  model: RoutedScriptedModel;
  close(): Promise<void>;
}

/** The greeter's first-time pass: gate, plan, one unit, verify, an approving review. */
export const PASS_FIRST_TIME: Record<string, ScriptStep[]> = {
  gate,
  plan: planOf([unit("greeting", ["src/greet.js"])]),
  "execute/greeting": [edit("src/greet.js", '"Hello "', '"Hi "'), done("Changed the greeting to Hi; the test expects it.")],
  review: [approve],
};

/** Runs the greeter issue to a ready PR (with `scripts`' answers); `close()` stops the app and the git server. */
export async function scriptedRun(
  kind: DbKind,
  log: Logger,
  scripts: Record<string, ScriptStep[]> = PASS_FIRST_TIME,
): Promise<ScriptedRun> {
  const { bare } = project();
  const server: GitHttpServer = await gitHttpServer(bare, TOKEN);
  const gh = new FakeGitHub({
    owner: RUN_OWNER,
    repo: RUN_REPO,
    issue: 1,
    installationId: INSTALLATION_ID,
    title: TITLE,
    body: "`greet('Ada')` returns `Hello Ada`; it should return `Hi Ada`. The test in test/greet.test.js says so.",
    config: CONFIG(),
    token: TOKEN,
    permissions: { reader: "read" },
  });
  const model = new RoutedScriptedModel(scripts);
  const app = await createTestApp(kind, log, { model });
  const close = async () => {
    await app.close();
    await server.close();
    nock.cleanAll();
  };
  try {
    const payload = issuesLabeled("ai-ready");
    payload.repository.clone_url = server.url;
    payload.repository.default_branch = "main";
    await app.probot.receive({ id: `d-${Math.random()}`, name: "issues", payload } as never);
    await app.startWorkers(2);
    const run = await eventually(async () => {
      const { rows } = await app.services.db.query<{ id: string; status: string; pr_number: number | null }>(
        "SELECT id, status, pr_number FROM runs",
      );
      return rows[0] && !["queued", "running"].includes(rows[0].status) && rows[0];
    }, 50_000);
    if (run.status !== "succeeded" || gh.pulls.length !== 1) throw new Error(`the scripted run ended ${run.status}`);
    return { app, gh, run, prBody: gh.pulls[0]!.body, model, close };
  } catch (error) {
    await close();
    throw error;
  }
}
