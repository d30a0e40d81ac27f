import type { Logger } from "pino";
import { openServices } from "../app/services.js";
import { openDatabase } from "../db/open.js";
import type { AppEnv } from "../config/env.js";

/** `tollgate migrate`: applies Tollgate's and the queue's migrations, then exits. */
export async function migrateCommand(env: AppEnv, log: Logger): Promise<void> {
  const services = await openServices(await openDatabase(env, log), log);
  await services.close();
  log.info("database is up to date");
}
