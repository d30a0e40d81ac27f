/**
 * The identity of an issue's text as someone saw it: title and body, hashed. A job carries the
 * hash of the text its event's sender saw (the webhook payload's), and the gate records the hash
 * of the text it read; authority binds to it (src/pipeline/text-authority.ts).
 */
import { createHash } from "node:crypto";

export function issueTextSha256(issue: { title: string; body?: string | null }): string {
  return createHash("sha256")
    .update(issue.title)
    .update("\0")
    .update(issue.body ?? "")
    .digest("hex");
}
