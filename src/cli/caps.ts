/**
 * `tollgate caps`: the operator's spending caps. Without options it lists them (the
 * environment's defaults, then every installation set apart); with `--installation N` it sets
 * that installation's daily cap and per-run ceiling (`default` returns one to the environment's).
 * A repository's `.github/tollgate.yml` may lower these, never raise them.
 */
import type { Logger } from "pino";
import type { AppEnv } from "../config/env.js";
import { migrate } from "../db/migrate.js";
import { openDatabase } from "../db/open.js";
import { formatUsd, usdToMicros } from "../llm/money.js";
import { BudgetStore } from "../stores/budget.js";
import { CliError } from "./errors.js";

export interface CapsOptions {
  installation?: string;
  daily?: string;
  run?: string;
}

export async function capsCommand(env: AppEnv, log: Logger, options: CapsOptions): Promise<void> {
  const db = await openDatabase(env, log);
  try {
    await migrate(db);
    const store = new BudgetStore(db);
    if (options.installation === undefined) {
      if (options.daily !== undefined || options.run !== undefined) throw new CliError("--daily and --run need --installation <id>");
      process.stdout.write(await listing(store, env));
      return;
    }
    const installationId = Number(options.installation);
    if (!Number.isSafeInteger(installationId) || installationId <= 0)
      throw new CliError(`--installation "${options.installation}" is not an installation id`);
    const current = await store.caps(installationId);
    const dailyMicros = options.daily === undefined ? (current?.dailyMicros ?? null) : dollars("--daily", options.daily);
    const runMicros = options.run === undefined ? (current?.runMicros ?? null) : dollars("--run", options.run);
    await store.setCaps({ installationId, dailyMicros, runMicros });
    process.stdout.write(await listing(store, env));
  } finally {
    await db.close();
  }
}

/** A number of dollars, or `default` (null: the environment's cap applies). */
function dollars(flag: string, value: string): number | null {
  if (value === "default") return null;
  if (!/^\d+(\.\d{1,2})?$/.test(value) || Number(value) <= 0)
    throw new CliError(`${flag} "${value}" is not a positive number of dollars (or "default")`);
  return usdToMicros(Number(value));
}

async function listing(store: BudgetStore, env: AppEnv): Promise<string> {
  const lines = [
    `default: ${formatUsd(env.caps.dailyMicros)} per installation per UTC day (TOLLGATE_DAILY_USD), ${formatUsd(env.caps.runMicros)} per run (TOLLGATE_RUN_USD_MAX)`,
  ];
  for (const c of await store.allCaps()) {
    const daily = c.dailyMicros === null ? "default" : formatUsd(c.dailyMicros);
    const run = c.runMicros === null ? "default" : formatUsd(c.runMicros);
    lines.push(`installation ${c.installationId}: ${daily} per UTC day, ${run} per run`);
  }
  return `${lines.join("\n")}\n`;
}
