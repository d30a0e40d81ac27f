/**
 * What agents did, for the run's record: `commands` (every command an agent or verify ran) and
 * `agent_events` (every tool call and its answer). Secrets in them are masked before they are stored.
 */
import type { Database } from "../db/database.js";
import { maskSecrets, maskSecretsIn } from "../safety/secrets.js";
import type { ToolUseBlock } from "../llm/model.js";
import type { CommandResult } from "../sandbox/process.js";

/** Where a recorded command or tool call happened. */
export interface RecordedAt {
  runId?: string;
  phase: string;
  agent?: string;
}

/** Records one command's run. */
export type CommandRecord = (argv: string[], result: CommandResult) => Promise<void>;

/** The `commands` and `agent_events` tables. */
export class AgentRecords {
  constructor(private readonly db: Database) {}

  /** Stores each command an agent (or the verify phase) runs in `commands`, secrets in it masked. */
  commandRecorder(where: RecordedAt & { cwd: string }): CommandRecord {
    const db = this.db;
    return async (argv, result) => {
      await db.query(
        `INSERT INTO commands (run_id, phase, agent, argv, cwd, exit_code, signal, timed_out, duration_ms, output_bytes)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
        [
          where.runId ?? null,
          where.phase,
          where.agent ?? null,
          JSON.stringify(argv.map(maskSecrets)),
          maskSecrets(where.cwd),
          result.exitCode,
          result.signal,
          result.timedOut,
          result.durationMs,
          result.outputBytes,
        ],
      );
    };
  }

  /** Stores one tool call of an agent's turn and what it answered, in `agent_events`. */
  async toolCall(
    where: RecordedAt & { agent: string; turn: number },
    call: ToolUseBlock,
    outcome: { content: string; isError: boolean },
    ms: number,
  ): Promise<void> {
    await this.db.query(
      `INSERT INTO agent_events (run_id, phase, agent, turn, tool_use_id, tool, input, output, is_error, duration_ms)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
      [
        where.runId ?? null,
        where.phase,
        where.agent,
        where.turn,
        call.id,
        call.name,
        JSON.stringify(maskSecretsIn(call.input ?? null)),
        maskSecrets(outcome.content),
        outcome.isError,
        Math.round(ms),
      ],
    );
  }
}
