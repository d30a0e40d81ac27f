/**
 * `/dashboard`: the routes, who may read them, and the headers every page carries. Read-only:
 * the one POST is signing out. Each page's data is also served as JSON (`?format=json`), and the
 * ledger as CSV, for scripts with the operator token.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Logger } from "pino";
import type { Database } from "../db/database.js";
import type { PriceBook } from "../llm/pricing.js";
import { parseRepoConfig } from "../config/repo-config.js";
import type { BudgetStore } from "../stores/budget.js";
import { DashboardStore, type Access } from "../stores/dashboard.js";
import { DashboardRunStore } from "../stores/dashboard-runs.js";
import { SessionStore } from "../stores/sessions.js";
import { Assets } from "./assets.js";
import { DashboardAuth } from "./auth.js";
import { ledgerPage } from "./ledger.js";
import { LiveRuns } from "./live.js";
import { overview, OVERVIEW_DAYS } from "./overview.js";
import { Pages, type Layout, type View } from "./render.js";
import { RunCosts } from "../stores/cost-rows.js";
import { runPage } from "./run-page.js";
import { githubWebUrl, nextPage, parseRunFilter, runRow, RUN_STATUSES, TICKET_TYPES } from "./runs-list.js";

export const DASHBOARD_PATH = "/dashboard";

export interface DashboardDeps {
  db: Database;
  budget: Pick<BudgetStore, "allCaps">;
  prices: PriceBook;
  log: Logger;
  githubApiUrl: string;
  /** AppEnv.dashboard */
  oauth?: { clientId: string; clientSecret: string };
  token?: string;
  publicUrl?: string;
  /** The operator's daily cap per installation, in micro-dollars. */
  dailyCapMicros: number;
  now?: () => Date;
  /** For tests: how often the live list polls, and whether it sets a timer. */
  live?: { pollMs?: number; timers?: boolean };
}

const SECURITY_HEADERS = {
  "content-security-policy":
    "default-src 'none'; script-src 'self'; style-src 'self'; style-src-attr 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  "x-frame-options": "DENY",
  "x-content-type-options": "nosniff",
  "referrer-policy": "same-origin",
};

type Route = (req: IncomingMessage, res: ServerResponse, url: URL, access: Access) => Promise<void>;

interface Context {
  deps: DashboardDeps;
  now: () => Date;
  pages: Pages;
  store: DashboardStore;
  runs: DashboardRunStore;
  web: string;
  live: LiveRuns;
  defaultDeepModel: string;
}

function send(res: ServerResponse, status: number, body: string, type = "text/html; charset=utf-8", extra: Record<string, string> = {}) {
  res.writeHead(status, { ...SECURITY_HEADERS, "content-type": type, "cache-control": "no-store", ...extra }).end(body);
}

function responders(pages: Pages) {
  const html = (res: ServerResponse, status: number, view: View, layout: Layout, data: object, access?: Access) =>
    send(res, status, pages.page(view, { ...layout, who: access?.who, canSignOut: access ? !access.all : false }, data));
  return {
    html,
    message: (res: ServerResponse, status: number, heading: string, text: string, extra: object = {}) =>
      html(res, status, "message", { title: heading }, { heading, message: text, ...extra }),
    json: (res: ServerResponse, value: unknown) => send(res, 200, JSON.stringify(value), "application/json"),
    jsonError: (res: ServerResponse, error: string) => send(res, 400, JSON.stringify({ error }), "application/json"),
  };
}

/** The pages a reader with access sees. */
function pageRoutes(c: Context): Array<[RegExp, Route]> {
  const { html, message, json, jsonError } = responders(c.pages);
  const { deps, now, store, runs, web } = c;
  return [
    [
      /^\/dashboard$/,
      async (_req, res, url, access) => {
        const o = await overview(
          { store, budget: deps.budget, prices: deps.prices, dailyCapMicros: deps.dailyCapMicros, defaultDeepModel: c.defaultDeepModel },
          access,
          now(),
        );
        if (url.searchParams.get("format") === "json") return json(res, o);
        html(res, 200, "overview", { title: "Overview", page: "overview" }, { o, days: OVERVIEW_DAYS, all: access.all }, access);
      },
    ],
    [/^\/dashboard\/runs\/events$/, async (_req, res, _url, access) => c.live.watch(res, access)],
    [
      /^\/dashboard\/runs$/,
      async (_req, res, url, access) => {
        const { filter, error } = parseRunFilter(url.searchParams);
        const rows = error ? [] : await runs.list(access, filter);
        const views = rows.map((r) => runRow(r, web, now()));
        if (url.searchParams.get("format") === "json") return error ? jsonError(res, error) : json(res, views);
        if (url.searchParams.get("fragment") === "rows") return send(res, 200, c.pages.fragment("run-rows", { rows: views }));
        const f = { ...filter, since: filter.since ?? "", until: filter.until ?? "" };
        const data = { rows: views, f, error, statuses: RUN_STATUSES, types: TICKET_TYPES, next: nextPage(url.searchParams, rows) };
        html(res, error ? 400 : 200, "runs", { title: "Runs", page: "runs" }, data, access);
      },
    ],
    [
      /^\/dashboard\/runs\/([^/]+)$/,
      async (_req, res, url, access) => {
        const id = decodeURIComponent(/^\/dashboard\/runs\/([^/]+)$/.exec(url.pathname)![1]!);
        const p = await runPage(
          { costs: new RunCosts(deps.db), runs, prices: deps.prices, defaultDeepModel: c.defaultDeepModel },
          access,
          id,
          now(),
        );
        // a run the reader may not see is answered like one that does not exist
        if (!p) return message(res, 404, "No such run", "There is no run with this id that you can see.");
        if (url.searchParams.get("format") === "json") return json(res, p);
        const r = { ...runRow(p.run, web, now()), ticketType: p.run.ticketType, error: p.run.error };
        html(res, 200, "run", { title: `${p.run.owner}/${p.run.repo}#${p.run.issueNumber}`, page: "runs" }, { r, p }, access);
      },
    ],
    [
      /^\/dashboard\/ledger$/,
      async (_req, res, url, access) => {
        const l = await ledgerPage(deps.db, access, url.searchParams, now());
        if (l.csv !== undefined && !l.error)
          return send(res, 200, l.csv, "text/csv; charset=utf-8", { "content-disposition": `attachment; filename="${l.filename}"` });
        if (url.searchParams.get("format") === "json") return l.error ? jsonError(res, l.error) : json(res, l.rows);
        html(res, l.error ? 400 : 200, "ledger", { title: "Ledger", page: "ledger" }, l, access);
      },
    ],
  ];
}

export function dashboardHandler(deps: DashboardDeps) {
  const now = deps.now ?? (() => new Date());
  const pages = new Pages();
  const assets = new Assets();
  const runs = new DashboardRunStore(deps.db);
  const auth = new DashboardAuth({ ...deps, sessions: new SessionStore(deps.db) });
  const web = githubWebUrl(deps.githubApiUrl);
  const live = new LiveRuns(runs, web, deps.log, { ...deps.live, now });
  const routes = pageRoutes({
    deps,
    now,
    pages,
    store: new DashboardStore(deps.db),
    runs,
    web,
    live,
    defaultDeepModel: parseRepoConfig({}).tiers.deep,
  });
  const { message } = responders(pages);

  async function route(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const path = url.pathname.replace(/\/+$/, "") || "/";
    if (path.startsWith("/dashboard/assets/")) {
      if (!assets.serve(path.slice("/dashboard/assets/".length), req, res)) message(res, 404, "Not found", "No such file.");
      return;
    }
    if (path === "/dashboard/logout" && req.method === "POST") return auth.signOut(req, res);
    if (req.method !== "GET" && req.method !== "HEAD")
      return send(res, 405, "Read-only: only GET is served here.\n", "text/plain", { allow: "GET" });
    if (path === "/dashboard/login/github") {
      if (!auth.canSignIn) return message(res, 404, "Sign-in is not set up", "", { setup: true });
      return auth.startSignIn(req, res);
    }
    if (path === "/dashboard/oauth/callback") {
      if (!auth.canSignIn) return message(res, 404, "Sign-in is not set up", "", { setup: true });
      const problem = await auth.finishSignIn(req, res, url.searchParams);
      if (problem) message(res, 400, "Sign-in failed", problem, { signIn: true });
      return;
    }
    const who = await auth.authenticate(req);
    if (who && !who.ok) return send(res, 401, `${who.reason}\n`, "text/plain", { "www-authenticate": 'Bearer realm="tollgate"' });
    if (path === "/dashboard/login") {
      if (who) return void res.writeHead(302, { location: "/dashboard" }).end();
      if (!auth.canSignIn) return message(res, 200, "Sign in", "Nobody can sign in to this dashboard yet.", { setup: true });
      return message(res, 200, "Sign in", "Sign in with your GitHub account: you will see the repositories you can access on GitHub.", {
        signIn: true,
      });
    }
    const handler = routes.find(([pattern]) => pattern.test(path));
    if (!handler) return message(res, 404, "Not found", "There is no such page.");
    if (!who) {
      const wantsPage = (req.headers.accept ?? "").includes("text/html");
      if (wantsPage) return void res.writeHead(302, { location: "/dashboard/login" }).end();
      return send(res, 401, "Sign in, or send the operator token as Authorization: Bearer …\n", "text/plain", {
        "www-authenticate": 'Bearer realm="tollgate"',
      });
    }
    await handler[1](req, res, new URL(path + url.search, url), who.access);
  }

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<boolean> => {
    const url = new URL(req.url ?? "/", "http://dashboard.invalid");
    if (url.pathname !== DASHBOARD_PATH && !url.pathname.startsWith(`${DASHBOARD_PATH}/`)) return false;
    try {
      await route(req, res, url);
    } catch (error) {
      deps.log.error({ err: error, path: url.pathname }, "dashboard: the page failed");
      if (!res.headersSent) message(res, 500, "Something went wrong", "This page could not be read; the app's log says why.");
      else res.end();
    }
    return true;
  };
  return Object.assign(handle, { live });
}
