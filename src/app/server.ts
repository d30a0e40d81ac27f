import { Probot, Server } from "probot";
import type { Logger } from "pino";
import type { AppEnv, GitHubAppCredentials } from "../config/env.js";
import { tollgateApp } from "../index.js";
import type { Services } from "./services.js";

/** The HTTP server: Probot's webhook endpoint, Tollgate's handlers and `/health`. */
export async function startServer(env: AppEnv, credentials: GitHubAppCredentials, services: Services, log: Logger): Promise<Server> {
  const server = new Server({
    Probot: Probot.defaults({
      appId: credentials.appId,
      privateKey: credentials.privateKey,
      secret: credentials.webhookSecret,
      baseUrl: env.githubApiUrl,
      log,
    }),
    port: env.port,
    host: env.host,
    webhookPath: env.webhookPath,
    webhookProxy: env.webhookProxyUrl,
    log,
  });
  await server.load(tollgateApp(services));
  await server.start();
  return server;
}
