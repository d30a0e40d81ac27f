/**
 * Replays spend nothing. Two guards on every delivery Tollgate acts on, besides its id (which is
 * not signed, so a captured body can be sent again under a new one):
 *   - the signed body's hash, recorded with the delivery: the same body under another id is the
 *     same delivery (src/stores/deliveries.ts records a body once);
 *   - the event's age, from the payload's own timestamps: GitHub delivers and redelivers an event
 *     only while it keeps its deliveries (3 days; 7 on Enterprise Server), so an older event is a
 *     replay, acknowledged and dropped.
 */
import { createHash } from "node:crypto";
import type { Logger } from "pino";
import { DELIVERY_RETENTION_HOURS } from "../config/env.js";

/** The part of a Probot context the guards read. */
interface Received {
  id: string;
  name: string;
  payload: object;
  log: Pick<Logger, "info">;
}

/**
 * A hash of the signed body. The payload is what `@octokit/webhooks` parsed from the body whose
 * signature it checked, and serialising a parsed body again gives the same text for the same
 * bytes (keys keep their order), so a body replayed byte for byte has the same hash; a different
 * body needs a new signature, which takes the webhook secret.
 */
export function signedBodySha256(context: Pick<Received, "name" | "payload">): string {
  return createHash("sha256").update(context.name).update("\n").update(JSON.stringify(context.payload)).digest("hex");
}

export interface EventAge {
  /** How old an event may be: as long as GitHub keeps deliveries (DELIVERY_RETENTION_HOURS). */
  maxAgeHours: number;
  now: () => number;
}

export const GITHUB_EVENT_AGE: EventAge = { maxAgeHours: DELIVERY_RETENTION_HOURS.github, now: () => Date.now() };

/** Clocks differ: GitHub's timestamps against this host's, and a redelivery made at the window's end. */
const SLACK_MS = 3600_000;

/**
 * When the event happened, by the payload: the newest of the times it carries for what changed
 * (an issue's `updated_at` moves with a label, an edit or a close; a comment's or review's time).
 * Undefined when it carries none.
 */
export function eventTime(payload: object): number | undefined {
  const p = payload as Record<string, Record<string, unknown> | undefined>;
  const times = [
    p.issue?.updated_at,
    p.comment?.created_at,
    p.comment?.updated_at,
    p.review?.submitted_at,
    p.pull_request?.updated_at,
    p.pull_request?.closed_at,
  ]
    .filter((t): t is string => typeof t === "string")
    .map((t) => Date.parse(t))
    .filter((t) => Number.isFinite(t));
  return times.length ? Math.max(...times) : undefined;
}

/**
 * Whether the delivery is too old to be GitHub's: then it is logged with why, and the handler
 * answers 2xx and does nothing (a replayer learns nothing from the status).
 */
export function tooOld(context: Received, age: EventAge): boolean {
  const at = eventTime(context.payload);
  if (at === undefined) return false;
  const hours = (age.now() - at) / 3600_000;
  if (age.now() - at <= age.maxAgeHours * 3600_000 + SLACK_MS) return false;
  context.log.info(
    { delivery: context.id, event: context.name, eventAt: new Date(at).toISOString(), ageHours: Math.round(hours) },
    `a ${context.name} delivery of an event ${Math.round(hours)} h old, older than GitHub keeps deliveries (${age.maxAgeHours} h): a replay, ignored`,
  );
  return true;
}
