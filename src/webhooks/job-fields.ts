import type { Delivery } from "../stores/deliveries.js";
import type { TriggerJob } from "../queue/jobs.js";
import { issueTextSha256 } from "../safety/text-hash.js";
import { signedBodySha256 } from "./replay.js";

interface PayloadRepository {
  id: number;
  name: string;
  full_name: string;
  clone_url: string;
  default_branch: string;
  owner: { login: string };
}

/** The repository as a job carries it. */
export function jobRepository(repository: PayloadRepository): TriggerJob["repository"] {
  return {
    id: repository.id,
    owner: repository.owner.login,
    name: repository.name,
    cloneUrl: repository.clone_url,
    defaultBranch: repository.default_branch,
  };
}

interface PayloadIssue {
  number: number;
  title: string;
  body?: string | null;
  updated_at: string;
}

/** The issue as a job carries it: with the text its event's sender saw, and when (src/pipeline/text-authority.ts). */
export function jobIssue(
  issue: PayloadIssue,
  seenAt = issue.updated_at,
): { number: number; title: string; textSha256: string; seenAt: string } {
  return { number: issue.number, title: issue.title, textSha256: issueTextSha256(issue), seenAt };
}

/** The delivery record of an event, with its signed body's hash (src/webhooks/replay.ts). */
export function issueDelivery(
  context: { id: string; name: string; payload: object },
  action: string,
  installationId: number,
  repository: PayloadRepository,
  sender: string,
  /** An issue edit: the issue and the text it produced, so a later job can tell whose edit made a text. */
  edit?: { issueNumber: number; textSha256: string },
): Delivery {
  const { id, name: event } = context;
  const delivery = { id, event, action, installationId, repository: repository.full_name, sender, bodySha256: signedBodySha256(context) };
  return edit ? { ...delivery, ...edit } : delivery;
}
