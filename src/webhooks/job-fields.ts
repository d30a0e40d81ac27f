import type { Delivery } from "../stores/deliveries.js";
import type { TriggerJob } from "../queue/jobs.js";

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

/** The delivery record of an issues event. */
export function issueDelivery(
  id: string,
  event: string,
  action: string,
  installationId: number,
  repository: PayloadRepository,
  sender: string,
): Delivery {
  return { id, event, action, installationId, repository: repository.full_name, sender };
}
