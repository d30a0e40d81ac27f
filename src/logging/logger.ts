import { pino, type Logger } from "pino";
import type { AppEnv } from "../config/env.js";

/** Field names whose values never reach a log line. */
const REDACT = [
  "privateKey",
  "token",
  "*.token",
  "authorization",
  "*.authorization",
  "headers.authorization",
  "*.headers.authorization",
  "apiKey",
  "*.apiKey",
  "password",
  "*.password",
];

/** Logs go to stdout (servers), or to stderr (`stream: 2`) for commands whose stdout is data. */
export function createLogger(env: Pick<AppEnv, "logLevel" | "logFormat">, stream: 1 | 2 = 1): Logger {
  const options = { name: "tollgate", level: env.logLevel, redact: { paths: REDACT, censor: "[redacted]" } };
  if (env.logFormat === "pretty") {
    return pino({
      ...options,
      transport: { target: "pino-pretty", options: { colorize: true, ignore: "pid,hostname", destination: stream } },
    });
  }
  return pino(options, pino.destination(stream));
}
