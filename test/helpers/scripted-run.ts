/**
 * One whole run, as GitHub and Anthropic drive it (the greeter project passing first time, through
 * test/helpers/pipeline.ts), for tests that need a finished run to look at (the dashboard,
 * /metrics, traces).
 */
import type { Logger } from "pino";
import type { RoutedScriptedModel, ScriptStep } from "../../src/llm/scripted-model.js";
import type { TestApp } from "./app.js";
import type { DbKind } from "./db.js";
import type { FakeGitHub } from "./fake-github.js";
import { approve, done, edit, gate, planOf, unit } from "./greeter.js";
import { E2E_OWNER, E2E_REPO, runEnded, startPipeline } from "./pipeline.js";

export const RUN_OWNER = E2E_OWNER;
export const RUN_REPO = E2E_REPO;

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
  const { app, gh, model, close } = await startPipeline(kind, log, scripts, { permissions: { reader: "read" } });
  try {
    const run = await runEnded(app);
    if (run.status !== "succeeded" || gh.pulls.length !== 1) throw new Error(`the scripted run ended ${run.status}`);
    return { app, gh, run, prBody: gh.pulls[0]!.body, model, close };
  } catch (error) {
    await close();
    throw error;
  }
}
