import type { Delivery } from "../stores/deliveries.js";
import type { TriggerJob } from "../queue/jobs.js";
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

/** The delivery record of an event, with its signed body's hash (src/webhooks/replay.ts). */
export function issueDelivery(
  context: { id: string; name: string; payload: object },
  action: string,
  installationId: number,
  repository: PayloadRepository,
  sender: string,
): Delivery {
  const { id, name: event } = context;
  return { id, event, action, installationId, repository: repository.full_name, sender, bodySha256: signedBodySha256(context) };
}
