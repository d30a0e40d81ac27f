// The baseline for bench/webhook-ack.mjs: a Probot server whose app does nothing with the
// event. Same Probot version, same webhook path, same signature check as Tollgate.
import { Probot, Server } from "probot";
import { pino } from "pino";

const env = process.env;
const log = pino({ level: "warn" });
const server = new Server({
  Probot: Probot.defaults({ appId: Number(env.APP_ID), privateKey: env.PRIVATE_KEY, secret: env.WEBHOOK_SECRET, log }),
  port: Number(env.PORT ?? 0),
  host: "127.0.0.1",
  log,
});
await server.load((app) => {
  app.onAny(async () => undefined);
});
await server.start();
process.on("SIGTERM", () => server.stop().then(() => process.exit(0)));
