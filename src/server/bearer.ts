/**
 * The operator token's check, one for `/metrics` (src/server/metrics.ts) and the dashboard
 * (src/dashboard/auth.ts): both take exactly the same `Authorization` headers.
 */
import { createHash, timingSafeEqual } from "node:crypto";

/** `Bearer <credentials>`: the scheme in any case (RFC 9110), spaces or tabs around the credentials. */
const BEARER = /^Bearer[ \t]+(\S+)[ \t]*$/i;

/**
 * Equal strings, compared in constant time: their SHA-256 digests are compared, which have the
 * same length whatever the inputs, so neither a secret's characters nor its length show in the
 * time the comparison takes.
 */
export function sameSecret(a: string, b: string): boolean {
  const digest = (s: string) => createHash("sha256").update(s).digest();
  return timingSafeEqual(digest(a), digest(b));
}

/** Whether `Authorization` is `Bearer <token>`. Never, when no token is configured. */
export function bearerMatches(header: string | undefined, token: string | undefined): boolean {
  const match = BEARER.exec(header ?? "");
  // compared even when the header is not a bearer, so that takes as long as a wrong token
  const same = sameSecret(match?.[1] ?? "", token ?? "");
  return same && match !== null && token !== undefined;
}
