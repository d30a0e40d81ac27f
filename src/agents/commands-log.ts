import type { Database } from "../db/database.js";
import { maskSecrets } from "../safety/text.js";
import type { CommandResult } from "./tools/command.js";

/** Stores a command an agent (or the verify phase) ran in `commands`, secrets in it masked. */
export function commandRecorder(db: Database, where: { runId?: string; phase: string; agent?: string; cwd: string }) {
  return async (argv: string[], result: CommandResult): Promise<void> => {
    await db.query(
      `INSERT INTO commands (run_id, phase, agent, argv, cwd, exit_code, signal, timed_out, duration_ms, output_bytes)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
      [where.runId ?? null, where.phase, where.agent ?? null, JSON.stringify(argv.map(maskSecrets)), maskSecrets(where.cwd), result.exitCode, result.signal, result.timedOut, result.durationMs, result.outputBytes],
    );
  };
}
