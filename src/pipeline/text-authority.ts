/**
 * Authority binds the text. Whoever authorises work (a label, an edit, `/retry`, `/approve`)
 * vouches for the issue as they saw it: their event carries a hash of its title and body and the
 * time they acted (src/webhooks/job-fields.ts). A job that finds the issue changed since gates
 * the new text only when the edit that made it is on record (issue edits' deliveries record the
 * text they produced) and its author has write access: a non-writer's edit never gates under a
 * writer's authority. Comments are bound by time: a comment by someone without write access that
 * was written after the vouching act is not read (src/pipeline/gate-run.ts).
 */
import type { IssueData } from "../phases/gate/issue.js";
import { issueTextSha256 } from "../safety/text-hash.js";
import type { DeliveryStore } from "../stores/deliveries.js";

/** The issue a job acts on, and the one permission check it makes (src/jobs/context.ts `JobContext`). */
export interface TextContext {
  owner: string;
  repo: string;
  issue: number;
  may(login: string, access: "write"): Promise<{ allowed: boolean; permission: string }>;
}

/** What someone did: who, the text they saw (its hash), and when. */
export interface Act {
  login: string;
  textSha256?: string;
  seenAt?: string;
}

/** Who vouches for the issue's current text, and since when; or why nobody does. */
export type Vouched = { by: string; editedBy?: string; seenAt?: Date } | { refused: string };

/**
 * Who vouches for `issue` as it is now: `act`'s sender when they saw this very text (their access
 * is the caller's to check), else the author of the recorded edit that made it, if they have
 * write access. An act without a hash (a job queued before hashes were carried) vouches as before.
 */
export async function vouchedText(ctx: TextContext, deliveries: DeliveryStore, issue: IssueData, act: Act): Promise<Vouched> {
  const now = issueTextSha256(issue);
  if (act.textSha256 === undefined || act.textSha256 === now) return { by: act.login, ...(act.seenAt && { seenAt: new Date(act.seenAt) }) };
  const edit = await deliveries.editOf(`${ctx.owner}/${ctx.repo}`, ctx.issue, now);
  if (!edit) return { refused: "the issue was edited after that, and Tollgate has no record of who made the edit" };
  const access = await ctx.may(edit.sender, "write");
  if (!access.allowed) return { refused: `the issue was edited after that by ${edit.sender}, who has ${access.permission} access` };
  return { by: act.login, editedBy: edit.sender, seenAt: edit.receivedAt };
}
