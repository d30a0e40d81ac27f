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

export function createLogger(env: Pick<AppEnv, "logLevel" | "logFormat">): Logger {
  return pino({
    name: "tollgate",
    level: env.logLevel,
    redact: { paths: REDACT, censor: "[redacted]" },
    ...(env.logFormat === "pretty"
      ? { transport: { target: "pino-pretty", options: { colorize: true, ignore: "pid,hostname" } } }
      : {}),
  });
}
