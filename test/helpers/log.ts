import { Writable } from "node:stream";
import { pino, type Logger } from "pino";

export interface CapturedLog {
  log: Logger;
  /** Every line logged so far, parsed. */
  lines: () => Array<Record<string, unknown> & { msg?: string; level: number }>;
  /** All log output as text, for "never contains" checks. */
  text: () => string;
}

export function captureLog(level = "debug"): CapturedLog {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      chunks.push(chunk.toString());
      if (process.env.TOLLGATE_TEST_LOG) process.stderr.write(chunk.toString());
      done();
    },
  });
  const log = pino({ level: process.env.TOLLGATE_TEST_LOG ?? level }, stream);
  return {
    log,
    lines: () =>
      chunks
        .join("")
        .split("\n")
        .filter(Boolean)
        .map((l) => JSON.parse(l)),
    text: () => chunks.join(""),
  };
}
