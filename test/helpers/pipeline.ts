/**
 * The pipeline end to end, as GitHub and Anthropic drive it, for tests that need a whole run: the
 * greeter project in a bare repository served by a local `git http-backend` that demands the
 * installation token, GitHub played by nock (FakeGitHub, every request checked against the
 * OpenAPI description), the real app and queue on a fresh database, a scripted model playing every
 * agent, and an `issues.labeled` delivery through `probot.receive` that starts it all.
 */
import nock from "nock";
import type { Logger } from "pino";
import type { ModelPort } from "../../src/llm/model.js";
import { RoutedScriptedModel, type ScriptStep } from "../../src/llm/scripted-model.js";
import type { QueueName } from "../../src/queue/jobs.js";
import { createTestApp, type TestApp } from "./app.js";
import type { DbKind } from "./db.js";
import { eventually } from "./eventually.js";
import { FakeGitHub } from "./fake-github.js";
import { gitHttpServer, type GitHttpServer } from "./git.js";
import { CONFIG, project, TITLE } from "./greeter.js";
import { INSTALLATION_ID, issuesLabeled, type Payload } from "./webhooks.js";

export const E2E_OWNER = "Codertocat";
export const E2E_REPO = "Hello-World";
export const E2E_TOKEN = "ghs_e2einstallationtoken00000000000000001";
export const GREETER_ISSUE = "`greet('Ada')` returns `Hello Ada`; it should return `Hi Ada`. The test in test/greet.test.js says so.";

export interface PipelineOptions {
  /** `.github/tollgate.yml` (default the greeter's CONFIG()). */
  config?: string;
  /** Wraps the scripted model (to play a worker that dies mid-call). */
  wrap?: (port: ModelPort) => ModelPort;
  /** The queues the workers work (default all). */
  queues?: QueueName[];
  /** The installation token git and GitHub demand (default E2E_TOKEN). */
  token?: string;
  /** More files in the greeter's first commit (path → content). */
  files?: Record<string, string>;
  /** Access of users other than the owner (default: none listed). */
  permissions?: Record<string, "admin" | "maintain" | "write" | "triage" | "read" | "none">;
}

export interface Pipeline {
  app: TestApp;
  gh: FakeGitHub;
  server: GitHttpServer;
  /** The bare repository the server serves. */
  bare: string;
  model: RoutedScriptedModel;
  /** Points a webhook payload's repository at the git server (as GitHub's clone_url would), its issue text and label events as the fake GitHub has them. */
  atServer<P extends Payload>(payload: P): P;
  /** Stops the app (its workers, its database) and the git server, and forgets nock's answers. */
  close(): Promise<void>;
}

export interface RunRow {
  id: string;
  status: string;
  iterations: number;
  pr_number: number | null;
  error: string | null;
}

/** Labels the greeter's issue and starts two workers of each queue: the run is under way when this returns. */
export async function startPipeline(
  kind: DbKind,
  log: Logger,
  scripts: Record<string, ScriptStep[]>,
  options: PipelineOptions = {},
): Promise<Pipeline> {
  const token = options.token ?? E2E_TOKEN;
  const { bare } = project(options.files);
  const server = await gitHttpServer(bare, token);
  const gh = new FakeGitHub({
    owner: E2E_OWNER,
    repo: E2E_REPO,
    issue: 1,
    installationId: INSTALLATION_ID,
    title: TITLE,
    body: GREETER_ISSUE,
    config: options.config ?? CONFIG(),
    token,
    permissions: options.permissions,
  });
  const model = new RoutedScriptedModel(scripts);
  const atServer = <P extends Payload>(payload: P): P => {
    payload.repository.clone_url = server.url;
    payload.repository.default_branch = "main";
    return gh.sees(payload);
  };
  let app: TestApp | undefined;
  const close = async () => {
    await app?.close();
    await server.close();
    nock.cleanAll();
  };
  try {
    app = await createTestApp(kind, log, { model: options.wrap ? options.wrap(model) : model });
    await app.probot.receive({ id: `d-${Math.random()}`, name: "issues", payload: atServer(issuesLabeled("ai-ready")) } as never);
    await app.startWorkers(2, { queues: options.queues });
    return { app, gh, server, bare, model, atServer, close };
  } catch (error) {
    await close();
    throw error;
  }
}

/** The runs other than `firstId` (a retry, a later run, a revision), once the first of them has ended. */
export function laterRunEnded(
  app: TestApp,
  firstId: string,
): Promise<Array<{ id: string; kind: string; status: string; error: string | null }>> {
  return eventually(async () => {
    const { rows } = await app.services.db.query<{ id: string; kind: string; status: string; error: string | null }>(
      "SELECT id, kind, status, error FROM runs WHERE id <> $1 ORDER BY created_at",
      [firstId],
    );
    return rows[0] && !["queued", "running"].includes(rows[0].status) && rows;
  }, 50_000);
}

/** The first run once it has ended (neither queued nor running). */
export function runEnded(app: TestApp): Promise<RunRow> {
  return eventually(async () => {
    const { rows } = await app.services.db.query<RunRow>("SELECT id, status, iterations, pr_number, error FROM runs ORDER BY created_at");
    return rows[0] && !["queued", "running"].includes(rows[0].status) && rows[0];
  }, 50_000);
}
