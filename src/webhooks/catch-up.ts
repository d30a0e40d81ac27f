/**
 * Which of the app's recent webhook deliveries to ask GitHub to send again after Tollgate was
 * down or too slow: GitHub records a failed delivery but never retries it. Pure: the attempts
 * listed and the guids Tollgate recorded come in, the attempts to redeliver go out.
 */
import type { DeliveryAttempt } from "../github/hook-deliveries.js";

/** The events Tollgate subscribes to (app.yml); anything else would be ignored if redelivered. */
export const HANDLED_EVENTS: ReadonlySet<string> = new Set([
  "issues",
  "issue_comment",
  "pull_request",
  "pull_request_review",
  "pull_request_review_comment",
]);

/**
 * Redeliveries of one event that may fail before Tollgate stops asking: a payload that fails
 * every time would otherwise be sent again at every sweep until GitHub forgets it.
 */
export const MAX_FAILED_REDELIVERIES = 3;

export interface CatchUpPlan {
  /** One attempt per event to redeliver, newest event first, at most `limit`. */
  redeliver: DeliveryAttempt[];
  /** Failed events in the window left alone, by reason. */
  skipped: { recorded: number; otherEvent: number; gaveUp: number; overLimit: number };
}

export const succeeded = (a: Pick<DeliveryAttempt, "statusCode">) => a.statusCode >= 200 && a.statusCode < 300;

/**
 * Groups the attempts by guid and keeps the events that are in the window (their newest
 * attempt at or after `since`), that no attempt delivered (no 2xx), that Tollgate handles, that
 * Tollgate never recorded (`recorded`: the guids in its deliveries table) and that have not
 * failed MAX_FAILED_REDELIVERIES redeliveries already. The newest attempt is the one named.
 */
export function planCatchUp(attempts: DeliveryAttempt[], recorded: ReadonlySet<string>, since: Date, limit: number): CatchUpPlan {
  const plan: CatchUpPlan = { redeliver: [], skipped: { recorded: 0, otherEvent: 0, gaveUp: 0, overLimit: 0 } };
  for (const tries of failedEvents(attempts, since).values()) {
    const newest = tries.reduce((a, b) => (b.deliveredAt > a.deliveredAt ? b : a));
    if (!HANDLED_EVENTS.has(newest.event)) plan.skipped.otherEvent++;
    else if (recorded.has(newest.guid)) plan.skipped.recorded++;
    else if (tries.filter((t) => t.redelivery).length >= MAX_FAILED_REDELIVERIES) plan.skipped.gaveUp++;
    else if (plan.redeliver.length >= limit) plan.skipped.overLimit++;
    else plan.redeliver.push(newest);
  }
  return plan;
}

/** The guids with no successful attempt whose newest attempt is in the window, newest first. */
export function failedEvents(attempts: DeliveryAttempt[], since: Date): Map<string, DeliveryAttempt[]> {
  const byGuid = new Map<string, DeliveryAttempt[]>();
  const sorted = [...attempts].sort((a, b) => b.deliveredAt.getTime() - a.deliveredAt.getTime());
  for (const a of sorted) byGuid.set(a.guid, [...(byGuid.get(a.guid) ?? []), a]);
  for (const [guid, tries] of byGuid) if (tries.some(succeeded) || tries[0]!.deliveredAt < since) byGuid.delete(guid); // done, or too old to ask for
  return byGuid;
}

/** Whether a page (newest first) reached back before `since`: the pages after it are older still. */
export const pastWindow = (page: DeliveryAttempt[], since: Date) => page.length === 0 || page.at(-1)!.deliveredAt < since;

/** What the last catch-up sweep did, as `/health` reports it. */
export interface CatchUpReport {
  /** When it ran (ISO 8601). */
  lastRunAt: string;
  /** Redeliveries GitHub accepted. */
  redelivered: number;
  /** Failed events in the window left alone (recorded already, not Tollgate's, given up, over the sweep's cap). */
  skipped: number;
  /** Redeliveries GitHub refused. */
  failed: number;
  /** Why the sweep stopped early, if it did (the rate limit, or GitHub's answer). */
  error?: string;
  /** Another web process of the deployment held the sweep (it was sweeping, or had just swept): this one skipped. */
  sweptElsewhere?: boolean;
}
