/** What a run works on, and what a pipeline step reports: the pipeline's words, not the queue's. */
import type { TraceContext } from "../observability/spans.js";

export interface RunRepository {
  id: number;
  owner: string;
  name: string;
  cloneUrl: string;
  defaultBranch: string;
}

/** A review thread a revision answers. */
export interface ReviewThread {
  /** The id of the thread's first comment (replies go there); absent for a review's own body. */
  commentId?: number;
  author: string;
  path?: string;
  line?: number | null;
  diffHunk?: string;
  body: string;
}

/** A run past its gate, to be carried out (or resumed). */
export interface RunTarget {
  runId: string;
  installationId: number;
  repository: RunRepository;
  issue: { number: number; title: string };
  /** Started by `/retry`: when someone else pushed to the issue's branch, the run starts from their head. */
  fromHumanHead?: boolean;
  /** A revision of the issue's PR: the review threads to address. */
  revise?: { pr: number; branch?: string; threads: ReviewThread[] };
  /** The gate's run span (when traces are exported): the run's carry-out joins its trace. */
  trace?: TraceContext;
}

/** What a step did: `failed` is a failure handled with intent (the user's input is wrong), said where the user sees it. */
export interface StepResult {
  outcome: "done" | "ignored" | "failed";
  detail?: string;
}
