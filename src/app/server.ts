import { Probot, Server } from "probot";
import type { Logger } from "pino";
import { DELIVERY_RETENTION_HOURS, type AppEnv, type GitHubAppCredentials } from "../config/env.js";
import { DependencyCache } from "../setup/cache.js";
import { tollgateApp } from "../index.js";
import type { IncomingMessage, ServerResponse } from "node:http";
import { limitWebhookBody } from "../server/body-limit.js";
import { webhookPost } from "../server/webhook-path.js";
import type { IntakePressure } from "../queue/intake.js";
import { asIntake } from "../db/priority.js";
import { createMetrics, type TollgateMetrics } from "../observability/metrics.js";
import { semconv } from "../observability/semconv.js";
import { timeWebhookAck } from "../observability/webhook-ack.js";
import { MetricsSource } from "../stores/metrics-source.js";
import type { OperatorCaps } from "../llm/budget.js";
import { dashboardHandler } from "../dashboard/handler.js";
import { priceBook } from "./model.js";
import type { Services } from "./services.js";
import type { CatchUpReport } from "../webhooks/catch-up.js";
import { GITHUB_EVENT_AGE } from "../webhooks/replay.js";

/** The HTTP server: Probot's webhook endpoint, Tollgate's handlers, `/health` and `/dashboard`. */
export async function startServer(
  env: AppEnv,
  credentials: GitHubAppCredentials,
  services: Services,
  log: Logger,
  // the process's metrics, shared with its workers (src/cli/start.ts); this server's own otherwise
  metrics: TollgateMetrics = webMetrics(env, services),
  // the catch-up of missed deliveries (src/app/catch-up.ts), whose last sweep /health reports
  catchUp?: () => CatchUpReport | undefined,
): Promise<Server> {
  const App = Probot.defaults({
    appId: credentials.appId,
    privateKey: credentials.privateKey,
    secret: credentials.webhookSecret,
    baseUrl: env.githubApiUrl,
    log,
  });
  // Probot's server puts the webhook handler first, ahead of every handler an app adds, and that
  // handler reads the whole body before it checks the signature: the body limit wraps it.
  class LimitedApp extends App {
    override async getNodeMiddleware(options?: Parameters<Probot["getNodeMiddleware"]>[0]) {
      const path = options?.path ?? env.webhookPath;
      const limited = limitWebhookBody(await super.getNodeMiddleware(options), path);
      const counted = services.intake ? countIntake(limited, path, services.intake) : limited;
      return metrics.webhookAck ? timeWebhookAck(counted, path, metrics.webhookAck) : counted;
    }
  }
  const server = new Server({
    Probot: LimitedApp,
    port: env.port,
    host: env.host,
    webhookPath: env.webhookPath,
    webhookProxy: env.webhookProxyUrl,
    log,
  });
  const dashboard = dashboardHandler({
    db: services.db,
    budget: services.budget,
    prices: priceBook(env),
    log: log.child({ name: "dashboard" }),
    githubApiUrl: env.githubApiUrl,
    ...env.dashboard,
    dailyCapMicros: env.caps.dailyMicros,
  });
  await server.load(
    tollgateApp({
      ...services,
      cache: new DependencyCache(env.dataDir, env.setup.cacheMaxBytes),
      dashboard,
      metrics,
      metricsToken: env.dashboard.token,
      metricsPublic: env.metrics.public,
      catchUp,
      // GitHub keeps (and so delivers) an event this long: an older one is a replay
      eventAge: { ...GITHUB_EVENT_AGE, maxAgeHours: DELIVERY_RETENTION_HOURS[env.gheHost ? "enterpriseServer" : "github"] },
    }),
  );
  await server.start();
  // an open live list (server-sent events) would hold the server's close until it times out
  const stop = server.stop.bind(server);
  server.stop = async () => {
    dashboard.live.close();
    await stop();
  };
  return server;
}

type AsyncHandler = (req: IncomingMessage, res: ServerResponse) => Promise<unknown>;

/** Each webhook delivery is counted as it arrives, so this process's workers make way for a burst. */
function countIntake(handler: AsyncHandler, path: string, intake: IntakePressure): AsyncHandler {
  const isWebhook = webhookPost(path);
  return (req, res) => {
    if (!isWebhook(req)) return handler(req, res);
    intake.arrived();
    return asIntake(() => handler(req, res)); // its statements go ahead of the workers' on the embedded database
  };
}

/** The web process's metrics: the database's (ledger, runs, queues, budgets) and its own. */
export function webMetrics(
  env: { telemetry: Pick<AppEnv["telemetry"], "semconvOptIn">; caps: OperatorCaps; metrics?: Pick<AppEnv["metrics"], "repositoryLabels"> },
  services: Pick<Services, "db" | "queue">,
): TollgateMetrics {
  return createMetrics({
    semconv: semconv(env.telemetry.semconvOptIn),
    web: {
      source: new MetricsSource(services.db),
      queue: services.queue,
      operatorCaps: env.caps,
      repositoryLabels: env.metrics?.repositoryLabels ?? false,
    },
  });
}
