import type { Logger } from "pino";
import type { AppEnv } from "../config/env.js";
import { migrate } from "../db/migrate.js";
import { openDatabase } from "../db/open.js";
import { DIMENSIONS, rollup, type Dimension } from "../stores/rollup.js";
import { formatRollup, type ReportFormat } from "../report/rollup-format.js";
import { CliError } from "./errors.js";

export interface ReportOptions {
  since: string;
  until?: string;
  by: string;
  format: string;
  installation?: string;
  merged?: boolean;
  repo?: string;
}

/** "30d", "12h", "2w" before `now`, or an ISO date / date-time. */
export function parseTime(value: string, now: number, flag: string): Date {
  const relative = /^(\d+)([hdw])$/.exec(value.trim());
  if (relative) {
    const hours = { h: 1, d: 24, w: 24 * 7 }[relative[2] as "h" | "d" | "w"];
    return new Date(now - Number(relative[1]) * hours * 3_600_000);
  }
  const date = new Date(value);
  if (/^\d{4}-\d{2}-\d{2}/.test(value) && !Number.isNaN(date.getTime())) return date;
  throw new CliError(`${flag} "${value}" is not a time: use 30d, 12h, 2w or a date such as 2026-11-01`);
}

export function parseReportOptions(options: ReportOptions, now = Date.now()) {
  const by = options.by
    .split(",")
    .map((d) => d.trim())
    .filter(Boolean);
  const unknown = by.filter((d) => !(DIMENSIONS as readonly string[]).includes(d));
  if (by.length === 0 || unknown.length) {
    throw new CliError(
      `--by ${unknown.length ? `"${unknown.join(",")}" is not a dimension` : "needs a dimension"}: choose from ${DIMENSIONS.join(", ")}`,
    );
  }
  if (!["table", "csv", "json"].includes(options.format)) throw new CliError(`--format "${options.format}" is not one of table, csv, json`);
  const since = parseTime(options.since, now, "--since");
  const until = options.until ? parseTime(options.until, now, "--until") : new Date(now);
  if (since >= until) throw new CliError("--since must be before --until");
  if (options.installation !== undefined && !/^\d+$/.test(options.installation)) {
    throw new CliError(`--installation "${options.installation}" is not an installation id (a number)`);
  }
  if (options.repo !== undefined && !/^[\w.-]+\/[\w.-]+$/.test(options.repo))
    throw new CliError(`--repo "${options.repo}" is not owner/name`);
  return {
    by: by as Dimension[],
    since,
    until,
    format: options.format as ReportFormat,
    installationId: options.installation === undefined ? undefined : Number(options.installation),
    repo: options.repo,
    merged: options.merged === true,
  };
}

/** `tollgate report`: spend from the ledger over a period, rolled up, as a table, CSV or JSON. */
export async function report(env: AppEnv, log: Logger, options: ReportOptions): Promise<void> {
  const q = parseReportOptions(options);
  const db = await openDatabase(env, log);
  try {
    await migrate(db);
    const rows = await rollup(db, q);
    process.stdout.write(formatRollup(rows, q.by, q.format));
  } finally {
    await db.close();
  }
}
