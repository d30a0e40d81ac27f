/**
 * Who is reading the dashboard. Two ways in, both read-only:
 *   - the operator token (TOLLGATE_DASHBOARD_TOKEN) as `Authorization: Bearer …`, for scripts:
 *     it reads everything;
 *   - a person signed in with GitHub through the app's own OAuth client (GitHub's web flow): at
 *     sign-in, GitHub says which of the app's installations and repositories they can access,
 *     and that is all they see until the session ends (8 hours). No GitHub token is kept.
 */
import { randomBytes } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { exchangeWebFlowCode, getWebFlowAuthorizationUrl } from "@octokit/oauth-methods";
import { request as octokitRequest } from "@octokit/request";
import { Octokit } from "@octokit/rest";
import { parseCookie as parseCookies, stringifySetCookie } from "cookie";
import type { Logger } from "pino";
import { bearerMatches, sameSecret } from "../server/bearer.js";
import type { Access } from "../stores/dashboard.js";
import type { SessionStore } from "../stores/sessions.js";

export const SESSION_COOKIE = "tollgate_session";
const STATE_COOKIE = "tollgate_oauth_state";
export const SESSION_HOURS = 8;

export interface AuthOptions {
  sessions: SessionStore;
  log: Logger;
  /** REST API base URL (GitHub Enterprise Server's too). */
  githubApiUrl: string;
  oauth?: { clientId: string; clientSecret: string };
  token?: string;
  /** Where people reach the app (TOLLGATE_PUBLIC_URL); without it, the request's Host. */
  publicUrl?: string;
}

export type Authenticated = { ok: true; access: Access } | { ok: false; status: 401; reason: string };

/** No `Authorization`: undefined (a session may sign the person in); otherwise the operator token or a 401. */
export function bearerAccess(header: string | undefined, token: string | undefined): Authenticated | undefined {
  if (!header) return undefined;
  // the same check as /metrics (src/server/bearer.ts); no token configured refuses every bearer
  if (!token || !bearerMatches(header, token)) return { ok: false, status: 401, reason: "the bearer token is not the operator's" };
  return { ok: true, access: { all: true, who: "operator token" } };
}

/** `localhost`, `*.localhost`, 127.0.0.0/8 or [::1], with or without a port: a browser on this machine. */
function loopbackHost(host: string | undefined): boolean {
  const name = (host ?? "").trim().toLowerCase().replace(/:\d+$/, "");
  return /^(localhost|.+\.localhost|127(\.\d{1,3}){3}|\[::1\])$/.test(name);
}

/**
 * Whether the request reached us over HTTPS: on a TLS socket, or through a proxy that says so
 * (`X-Forwarded-Proto`, `Forwarded: proto=`). A client can forge these, but only to make its
 * own cookies stricter.
 */
function overHttps(req: IncomingMessage): boolean {
  if ((req.socket as { encrypted?: boolean } | undefined)?.encrypted === true) return true;
  const forwarded = String(req.headers["x-forwarded-proto"] ?? "")
    .split(",")[0]!
    .trim()
    .toLowerCase();
  return forwarded === "https" || /(^|[;,\s])proto="?https"?(?=$|[;,\s])/i.test(String(req.headers.forwarded ?? ""));
}

export class DashboardAuth {
  constructor(private readonly o: AuthOptions) {
    if (!o.oauth) return; // no sign-in, no cookies
    if (o.publicUrl?.startsWith("http:") && !loopbackHost(new URL(o.publicUrl).host))
      o.log.warn(
        { publicUrl: o.publicUrl },
        "dashboard: TOLLGATE_PUBLIC_URL is plain http, so sign-in cookies are sent without Secure (readable on the network) unless a request comes over HTTPS",
      );
    else if (!o.publicUrl)
      o.log.info(
        "dashboard: sign-in cookies are Secure except for plain-http requests to localhost; on another plain-http host, set TOLLGATE_PUBLIC_URL=http://… to sign in there without Secure",
      );
  }

  get canSignIn(): boolean {
    return this.o.oauth !== undefined;
  }

  async authenticate(req: IncomingMessage): Promise<Authenticated | undefined> {
    const bearer = bearerAccess(req.headers.authorization, this.o.token);
    if (bearer) return bearer;
    const id = parseCookies(req.headers.cookie ?? "")[SESSION_COOKIE];
    if (!id) return undefined;
    const session = await this.o.sessions.get(id);
    if (!session) return undefined;
    return {
      ok: true,
      access: { all: false, who: session.login, installations: session.installations, repositories: session.repositories },
    };
  }

  /** Sends the person to GitHub's sign-in, with a one-time state bound to this browser. */
  startSignIn(req: IncomingMessage, res: ServerResponse): void {
    const state = randomBytes(20).toString("hex");
    const { url } = getWebFlowAuthorizationUrl({
      clientType: "github-app",
      clientId: this.o.oauth!.clientId,
      redirectUrl: this.#callbackUrl(req),
      state,
      request: this.#request(),
    });
    res.writeHead(302, {
      location: url,
      "set-cookie": this.#cookie(req, STATE_COOKIE, state, { path: "/dashboard/oauth", maxAge: 600 }),
      "cache-control": "no-store",
    });
    res.end();
  }

  /**
   * GitHub's redirect back: checks the state, trades the code for a user token, reads what the
   * person can access, starts a session. Returns an error message for the person, or undefined
   * once the response (a redirect to the dashboard) is sent.
   */
  async finishSignIn(req: IncomingMessage, res: ServerResponse, query: URLSearchParams): Promise<string | undefined> {
    if (query.get("error")) return `GitHub did not sign you in: ${query.get("error_description") ?? query.get("error")}.`;
    const expected = parseCookies(req.headers.cookie ?? "")[STATE_COOKIE];
    const state = query.get("state");
    const code = query.get("code");
    if (!expected || !state || !sameSecret(state, expected) || !code)
      return "This sign-in link is stale or was not started in this browser: sign in again.";
    let token: string;
    try {
      const { authentication } = await exchangeWebFlowCode({
        clientType: "github-app",
        clientId: this.o.oauth!.clientId,
        clientSecret: this.o.oauth!.clientSecret,
        code,
        redirectUrl: this.#callbackUrl(req),
        request: this.#request(),
      });
      token = authentication.token;
    } catch (error) {
      this.o.log.warn({ err: error }, "dashboard sign-in: the code could not be exchanged for a token");
      return "GitHub did not accept this sign-in (a code works once, for ten minutes): sign in again. The app's log says more.";
    }
    const seen = await this.#whatTheyCanSee(token);
    const id = randomBytes(32).toString("base64url");
    await this.o.sessions.create(id, { ...seen, expiresAt: new Date(Date.now() + SESSION_HOURS * 3600_000) });
    this.o.log.info(
      { login: seen.login, installations: seen.installations.length, repositories: seen.repositories.length },
      "dashboard sign-in",
    );
    res.writeHead(302, {
      location: "/dashboard",
      "set-cookie": [
        this.#cookie(req, SESSION_COOKIE, id, { path: "/", maxAge: SESSION_HOURS * 3600 }),
        this.#cookie(req, STATE_COOKIE, "", { path: "/dashboard/oauth", maxAge: 0 }),
      ],
      "cache-control": "no-store",
    });
    res.end();
    return undefined;
  }

  async signOut(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const id = parseCookies(req.headers.cookie ?? "")[SESSION_COOKIE];
    if (id) await this.o.sessions.delete(id);
    res.writeHead(303, { location: "/dashboard/login", "set-cookie": this.#cookie(req, SESSION_COOKIE, "", { path: "/", maxAge: 0 }) });
    res.end();
  }

  /** The app's installations the person can access, and the repositories they can access in each. */
  async #whatTheyCanSee(token: string) {
    const octokit = new Octokit({ auth: token, baseUrl: this.o.githubApiUrl, log: quiet });
    const { data: user } = await octokit.rest.users.getAuthenticated();
    const installations = await octokit.paginate(octokit.rest.apps.listInstallationsForAuthenticatedUser, { per_page: 100 });
    const repositories: number[] = [];
    for (const installation of installations) {
      const repos = await octokit.paginate(octokit.rest.apps.listInstallationReposForAuthenticatedUser, {
        installation_id: installation.id,
        per_page: 100,
      });
      repositories.push(...repos.map((r) => r.id));
    }
    return { login: user.login, userId: user.id, installations: installations.map((i) => i.id), repositories };
  }

  #request() {
    return octokitRequest.defaults({ baseUrl: this.o.githubApiUrl });
  }

  #base(req: IncomingMessage): string {
    return this.o.publicUrl ?? `http://${req.headers.host ?? "localhost"}`;
  }

  /**
   * `Secure` whenever the request came over HTTPS or TLS ends at a proxy in front. Otherwise the
   * operator's TOLLGATE_PUBLIC_URL decides (https: Secure; an explicit http://: not); without
   * it, Secure unless the browser is on this machine (http://localhost), where there is no TLS to
   * ask for. A deployment behind a TLS proxy that sets neither header still gets Secure cookies.
   */
  #secure(req: IncomingMessage): boolean {
    if (overHttps(req)) return true;
    if (this.o.publicUrl) return this.o.publicUrl.startsWith("https:");
    return !loopbackHost(req.headers.host);
  }

  #callbackUrl(req: IncomingMessage): string {
    return `${this.#base(req)}/dashboard/oauth/callback`;
  }

  #cookie(req: IncomingMessage, name: string, value: string, o: { path: string; maxAge: number }): string {
    return stringifySetCookie({
      name,
      value,
      httpOnly: true,
      sameSite: "lax",
      secure: this.#secure(req),
      path: o.path,
      maxAge: o.maxAge,
    });
  }
}

const quiet = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };
