/**
 * `tollgate eval SUITE`: runs a suite of frozen tasks (src/eval/suite.ts) through the pipeline,
 * several times each, and reports the resolved rate, dollars and tokens per resolved task by
 * phase, rounds, and the gate's precision, per prompt version. With `--scripted`, each task's
 * scripted answers stand in for the API (free; what CI runs to test the mechanism).
 */
import { mkdtempSync, mkdirSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import type { Logger } from "pino";
import type { AppEnv } from "../config/env.js";
import { migrate } from "../db/migrate.js";
import { openDatabase } from "../db/open.js";
import { renderReport, summarise } from "../eval/report.js";
import { runEval } from "../eval/run-eval.js";
import { loadSuite, SuiteError } from "../eval/suite.js";
import { CliError } from "./errors.js";

export interface EvalCliOptions {
  runs?: string;
  scripted?: boolean;
  mirrors?: string;
  out?: string;
  format?: string;
}

export async function evalCommand(env: AppEnv, log: Logger, suiteDir: string, options: EvalCliOptions): Promise<void> {
  const runs = Number(options.runs ?? 3);
  if (!Number.isInteger(runs) || runs < 1 || runs > 50) throw new CliError(`--runs "${options.runs}" must be a whole number from 1 to 50`);
  const format = options.format ?? "markdown";
  if (format !== "markdown" && format !== "json") throw new CliError(`--format "${format}" is not one of markdown, json`);
  if (!options.scripted && !env.anthropic.apiKey)
    throw new CliError("ANTHROPIC_API_KEY is not set: set it to evaluate on the API, or pass --scripted to replay each task's script");
  let suite;
  try {
    suite = loadSuite(path.resolve(suiteDir));
  } catch (error) {
    if (error instanceof SuiteError) throw new CliError(error.message);
    throw error;
  }
  const db = await openDatabase(env, log);
  try {
    await migrate(db);
    mkdirSync(env.dataDir, { recursive: true });
    const workDir = mkdtempSync(path.join(tmpdir(), "tollgate-eval-"));
    const attempts = await runEval(env, log, db, {
      suite,
      runs,
      scripted: options.scripted === true,
      mirrors: path.resolve(options.mirrors ?? "/work/.mirror"),
      workDir,
      onAttempt: (a) => log.info({ task: a.task, attempt: a.attempt, status: a.status, resolved: a.resolved }, "attempt done"),
    }).catch((error: unknown) => {
      if (error instanceof SuiteError) throw new CliError(error.message);
      throw error;
    });
    const versions = summarise(attempts);
    const text =
      format === "json"
        ? `${JSON.stringify({ suite: suite.name, attempts, versions }, null, 2)}\n`
        : renderReport(suite.name, attempts, versions);
    process.stdout.write(text);
    if (options.out) await writeFile(path.resolve(options.out), text);
  } finally {
    await db.close();
  }
}
