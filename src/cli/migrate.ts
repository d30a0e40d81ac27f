import type { Logger } from "pino";
import { openServices } from "../app/services.js";
import type { AppEnv } from "../config/env.js";
import { openDatabase } from "../db/open.js";
import { CliError } from "./errors.js";

/** `tollgate migrate`: applies Tollgate's and the queue's migrations to PostgreSQL, then exits. */
export async function migrateCommand(env: AppEnv, log: Logger): Promise<void> {
  if (env.database.kind !== "postgres") {
    throw new CliError("DATABASE_URL is not set: `tollgate start` migrates the embedded database itself; `migrate` is for PostgreSQL");
  }
  const services = await openServices(await openDatabase(env, log), log);
  await services.close();
  log.info("database is up to date");
}
