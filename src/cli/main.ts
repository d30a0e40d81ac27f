#!/usr/bin/env node
/** The `tollgate` command. */
import { Command } from "commander";
import type { Logger } from "pino";
import { applyDotEnv, EnvError, loadEnv, type AppEnv } from "../config/env.js";
import { TollgateError } from "../errors.js";
import { createLogger } from "../logging/logger.js";
import { DIMENSIONS } from "../stores/rollup.js";
import { pricesCommand, type PricesOptions } from "./prices.js";
import { capsCommand, type CapsOptions } from "./caps.js";
import { migrateCommand } from "./migrate.js";
import { report, type ReportOptions } from "./report.js";
import { evalCommand, type EvalCliOptions } from "./eval.js";
import { runCommand, type RunOptions } from "./run.js";
import { start } from "./start.js";
import { worker } from "./worker.js";

type Action = (env: AppEnv, log: Logger, options: Record<string, unknown>) => Promise<void>;

/** Parses the environment, then runs the command; known problems become one line and exit 1. */
function withEnv(action: Action, logTo: 1 | 2 = 1) {
  return async (options: Record<string, unknown> = {}) => {
    let env: AppEnv;
    try {
      applyDotEnv();
      env = loadEnv();
    } catch (error) {
      if (error instanceof EnvError) fail(error.message);
      throw error;
    }
    const log = createLogger(env, logTo);
    try {
      await action(env, log, options);
    } catch (error) {
      // an error of Tollgate's own says what is wrong in one line (a bad flag, the database, a key)
      if (error instanceof TollgateError) fail(error.message);
      log.fatal({ err: error }, "tollgate stopped on an unexpected error");
      process.exitCode = 1;
      // Let pino flush, then make sure nothing keeps the process alive.
      setTimeout(() => process.exit(1), 200).unref();
    }
  };
}

function fail(message: string): never {
  process.stderr.write(`tollgate: ${message}\n`);
  process.exit(1);
}

const program = new Command()
  .name("tollgate")
  .description("Turns well-specified issues into reviewed pull requests, and shows what every step cost.");

program
  .command("start")
  .description("run the webhook server and its workers in one process")
  .option("--no-workers", "serve webhooks only; `tollgate worker` processes run the jobs (needs DATABASE_URL)")
  .action(withEnv((env, log, options) => start(env, log, { workers: options.workers !== false })));
program.command("worker").description("run workers only (several processes may share one PostgreSQL database)").action(withEnv(worker));
program.command("migrate").description("apply database migrations and exit").action(withEnv(migrateCommand));
program
  .command("report")
  .description("model spend from the ledger over a period, rolled up")
  .option("--since <time>", "start: 30d, 12h, 2w or a date", "30d")
  .option("--until <time>", "end (default: now)")
  .option("--by <dimensions>", `comma-separated: ${DIMENSIONS.join(", ")}`, "phase")
  .option("--format <format>", "table, csv or json", "table")
  .option("--installation <id>", "only this installation")
  .option("--repo <owner/name>", "only this repository")
  .option("--merged", "only issues whose pull request was merged (with --by issue: the cost per merged PR)")
  .action(withEnv((env, log, options) => report(env, log, options as unknown as ReportOptions), 2));

program
  .command("caps")
  .description("the operator's spending caps: list them, or set one installation's (a repository may only lower them)")
  .option("--installation <id>", "the installation to set caps for")
  .option("--daily <usd>", 'its cap per UTC day in dollars, or "default" (TOLLGATE_DAILY_USD)')
  .option("--run <usd>", 'the most one of its runs may spend, or "default" (TOLLGATE_RUN_USD_MAX)')
  .action(withEnv((env, log, options) => capsCommand(env, log, options as CapsOptions), 2));

program
  .command("prices [model]")
  .description("the price in force for a model (or every current Claude model), its source and since when")
  .option("--at <date>", "the day to price at (default: today), as 2026-11-30")
  .action((model: string | undefined, options: Record<string, unknown>) =>
    withEnv((env, _log, opts) => pricesCommand(env, model, opts as PricesOptions))(options),
  );

program
  .command("run")
  .description("run the whole pipeline on a local git repository and an issue file, without GitHub")
  .requiredOption("--repo <path>", "the local git repository (its current branch's last commit is the base)")
  .requiredOption("--issue <file.md>", "the issue: a title on the first line, the body below")
  .option("--out <file>", "where to write the report (default: tollgate-report-<title>.md)")
  .option("--budget <usd>", "the run's budget in dollars (default: budget.run_usd of the repo's config)")
  .option("--script <file.json>", "replay scripted answers instead of calling the API (agent → list of answers)")
  .action(withEnv((env, log, options) => runCommand(env, log, options as unknown as RunOptions), 2));

program
  .command("eval <suite>")
  .description("run a suite of frozen tasks through the pipeline and report resolved rate, cost per resolved task and gate precision")
  .option("--runs <n>", "attempts per task", "3")
  .option("--scripted", "replay each task's scripted answers instead of calling the API")
  .option("--mirrors <dir>", "where fetched repositories are (<owner>+<name>/repo)", "/work/.mirror")
  .option("--out <file>", "also write the report to this file")
  .option("--format <format>", "markdown or json", "markdown")
  .action((suite: string, options: Record<string, unknown>) =>
    withEnv((env, log, opts) => evalCommand(env, log, suite, opts as EvalCliOptions), 2)(options),
  );

await program.parseAsync();
