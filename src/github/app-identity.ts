/**
 * Who Tollgate's commits are by on GitHub: the app's bot user. GitHub links a commit to an app
 * (its name and avatar) when its author is `<slug>[bot]` with the email
 * `<bot user id>+<slug>[bot]@users.noreply.github.com`; the slug comes from GET /app (the app's
 * JWT), the bot user's id from GET /users/{slug}[bot] (any token).
 *
 * Read once per process, when the first run needs it, never at start-up; when GitHub cannot say,
 * one warning and the fallback identity for this process: a run never fails for this.
 */
import type { Logger } from "pino";
import type { Identity } from "../workspace/workspace.js";
import type { Octokit } from "./issues.js";

/** The identity GitHub shows as the app `slug`, whose bot user is `botUserId`. */
export function botIdentity(slug: string, botUserId: number): Identity {
  const login = `${slug}[bot]`;
  return { name: login, email: `${botUserId}+${login}@users.noreply.github.com` };
}

/**
 * Reads the app's identity: `app` is authenticated as the app (GET /app takes only its JWT),
 * `user` with any token (the app's JWT does not answer GET /users).
 */
export async function readAppIdentity(app: Octokit, user: Octokit): Promise<Identity> {
  const { data: integration } = await app.request("GET /app");
  const slug = integration?.slug;
  if (!slug) throw new Error("GET /app did not say the app's slug");
  const { data: bot } = await user.request("GET /users/{username}", { username: `${slug}[bot]` });
  return botIdentity(slug, Number(bot.id));
}

/**
 * The app's identity, read the first time it is asked for (with that caller's installation
 * Octokit for the bot user) and kept. A failure logs one warning and keeps `fallback`. Either
 * way the identity returned also counts `fallback`'s commits as the app's own (`formerEmails`),
 * so branches made under the old identity are still Tollgate's to push to.
 */
export function appIdentity(app: () => Promise<Octokit>, fallback: Identity, log: Logger): (installation: Octokit) => Promise<Identity> {
  let identity: Promise<Identity> | undefined;
  return (installation) => {
    identity ??= app()
      .then((octokit) => readAppIdentity(octokit, installation))
      .then(
        (read): Identity => ({ ...read, formerEmails: read.email === fallback.email ? [] : [fallback.email] }),
        (error: unknown) => {
          log.warn({ err: error }, `could not read the app's identity from GitHub: commits are by ${fallback.name} <${fallback.email}>`);
          return fallback;
        },
      );
    return identity;
  };
}
