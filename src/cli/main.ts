#!/usr/bin/env node
/** The `tollgate` command. */
import { Command } from "commander";
import type { Logger } from "pino";
import { EnvError, loadEnv, type AppEnv } from "../config/env.js";
import { DatabaseUnavailableError } from "../db/open.js";
import { createLogger } from "../logging/logger.js";
import { CliError } from "./errors.js";
import { migrateCommand } from "./migrate.js";
import { start } from "./start.js";
import { worker } from "./worker.js";

type Action = (env: AppEnv, log: Logger) => Promise<void>;

/** Parses the environment, then runs the command; known problems become one line and exit 1. */
function withEnv(action: Action) {
  return async () => {
    let env: AppEnv;
    try {
      env = loadEnv();
    } catch (error) {
      if (error instanceof EnvError) fail(error.message);
      throw error;
    }
    const log = createLogger(env);
    try {
      await action(env, log);
    } catch (error) {
      if (error instanceof CliError || error instanceof DatabaseUnavailableError) fail(error.message);
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

program.command("start").description("run the webhook server and its workers in one process").action(withEnv(start));
program.command("worker").description("run workers only (several processes may share one PostgreSQL database)").action(withEnv(worker));
program.command("migrate").description("apply database migrations and exit").action(withEnv(migrateCommand));

await program.parseAsync();
