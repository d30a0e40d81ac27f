import { pino, type LevelWithSilent, type Logger } from "pino";

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

/** How much is logged and how (the environment's LOG_LEVEL and LOG_FORMAT, as `AppEnv` has them). */
export interface LogSettings {
  logLevel: LevelWithSilent;
  logFormat: "json" | "pretty";
}

/** Logs go to stdout (servers), or to stderr (`stream: 2`) for commands whose stdout is data. */
export function createLogger(env: LogSettings, stream: 1 | 2 = 1): Logger {
  const options = { name: "tollgate", level: env.logLevel, redact: { paths: REDACT, censor: "[redacted]" } };
  if (env.logFormat === "pretty") {
    return pino({
      ...options,
      transport: { target: "pino-pretty", options: { colorize: true, ignore: "pid,hostname", destination: stream } },
    });
  }
  return pino(options, pino.destination(stream));
}
