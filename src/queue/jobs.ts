/**
 * What travels through the queue. Each job is validated when it is taken, so a job written by
 * an older or newer Tollgate fails loudly instead of running on half-understood data.
 */
import { z } from "zod";

export const QUEUE = {
  /** An `issues.labeled` delivery that may start a run. */
  trigger: "tollgate-trigger",
  /** A comment command (`/retry`, `/status`…) on an issue or a Tollgate PR. */
  command: "tollgate-command",
  /** Reviews on a Tollgate PR (a revision), or the PR closed. One queued job per PR. */
  revise: "tollgate-revise",
  /** A run past its gate: plan, execute, verify, review, publish. Retried = resumed. */
  run: "tollgate-run",
  /** Jobs that failed every retry end here, so they stay visible. */
  dead: "tollgate-dead",
} as const;
export type QueueName = (typeof QUEUE)[keyof typeof QUEUE];

const repository = z.object({
  id: z.number().int(),
  owner: z.string(),
  name: z.string(),
  cloneUrl: z.string(),
  defaultBranch: z.string(),
});

/**
 * The issue's text as the event's sender saw it (src/safety/text-hash.ts), and when they acted:
 * authority binds to it (src/pipeline/text-authority.ts). Absent in jobs from before it was carried.
 */
const seen = {
  textSha256: z
    .string()
    .regex(/^[0-9a-f]{64}$/)
    .optional(),
  seenAt: z.iso.datetime({ offset: true }).optional(),
};

export const triggerJobSchema = z.object({
  deliveryId: z.string().min(1),
  /** labeled: maybe a trigger; edited: re-run the gate; unlabeled / closed: maybe a cancel. */
  kind: z.enum(["labeled", "edited", "unlabeled", "closed"]).default("labeled"),
  installationId: z.number().int(),
  repository,
  issue: z.object({ number: z.number().int(), title: z.string(), ...seen }),
  /** The label added or removed (labeled, unlabeled). */
  label: z.string().optional(),
  sender: z.object({ login: z.string(), id: z.number().int() }),
  /** Started by `/retry`: a branch someone else pushed to is built on, not refused. */
  retry: z.boolean().optional(),
});
export type TriggerJob = z.infer<typeof triggerJobSchema>;

/** A comment whose first line is a command. The line is parsed again by the worker. */
export const commandJobSchema = z.object({
  deliveryId: z.string().min(1),
  installationId: z.number().int(),
  repository,
  /** The issue or pull request the comment is on. */
  issue: z.object({ number: z.number().int(), title: z.string(), isPullRequest: z.boolean(), ...seen }),
  comment: z.object({ id: z.number().int(), line: z.string().max(500) }),
  sender: z.object({ login: z.string(), id: z.number().int() }),
});
export type CommandJob = z.infer<typeof commandJobSchema>;

/** A review or review comment on a pull request, or the pull request closed. */
export const reviseJobSchema = z.object({
  deliveryId: z.string().min(1),
  kind: z.enum(["review", "closed"]),
  installationId: z.number().int(),
  repository,
  pr: z.object({ number: z.number().int(), headRef: z.string(), merged: z.boolean().default(false) }),
  sender: z.object({ login: z.string(), id: z.number().int() }),
});
export type ReviseJob = z.infer<typeof reviseJobSchema>;

/** The review threads a revision answers, as the run job carries them. */
export const reviewThreadSchema = z.object({
  /** The id of the thread's first comment (replies go there); absent for a review's own body. */
  commentId: z.number().int().optional(),
  author: z.string(),
  path: z.string().optional(),
  line: z.number().int().nullable().optional(),
  diffHunk: z.string().optional(),
  body: z.string(),
});

/**
 * The W3C trace context (https://www.w3.org/TR/trace-context/) of the span a run job continues.
 * Only version 00 is taken (what Tollgate writes), lower-case hex, no all-zero ids: anything else
 * in the job is refused rather than handed to the propagator.
 */
const TRACEPARENT = /^00-(?!0{32})[0-9a-f]{32}-(?!0{16})[0-9a-f]{16}-[0-9a-f]{2}$/;
/** One list member: a key (simple, or `tenant@system`), `=`, printable ASCII without `,` or `=`, no trailing space. */
const TRACESTATE_MEMBER =
  "(?:[a-z][a-z0-9_*/-]{0,255}|[a-z0-9][a-z0-9_*/-]{0,240}@[a-z][a-z0-9_*/-]{0,13})=[\\x20-\\x2b\\x2d-\\x3c\\x3e-\\x7e]{0,255}[\\x21-\\x2b\\x2d-\\x3c\\x3e-\\x7e]";
/** At most 32 members, as the specification allows; 512 characters is what propagators keep. */
const TRACESTATE = new RegExp(`^${TRACESTATE_MEMBER}(?:[ \\t]*,[ \\t]*${TRACESTATE_MEMBER}){0,31}$`);

export const traceContextSchema = z.strictObject({
  traceparent: z.string().regex(TRACEPARENT),
  tracestate: z.string().max(512).regex(TRACESTATE).optional(),
});

/** A run whose gate passed, to be carried out (or resumed) by a worker. */
export const runJobSchema = z.object({
  runId: z.uuid(),
  /** The delivery that started the run (for the logs). */
  deliveryId: z.string().min(1),
  installationId: z.number().int(),
  repository,
  issue: z.object({ number: z.number().int(), title: z.string() }),
  /** Started by `/retry`: when someone else pushed to the issue's branch, the run starts from their head. */
  fromHumanHead: z.boolean().optional(),
  /** A revision of the issue's PR: the review threads to address. */
  revise: z
    .object({
      pr: z.number().int(),
      /** The PR's head branch (`tollgate/issue-<n>`, or `-<k>` after a human's commit moved the work). */
      branch: z.string().max(255).optional(),
      threads: z.array(reviewThreadSchema).max(100),
    })
    .optional(),
  /** Which take-over of the run this job is (0: the first job); an older one finds the run not its own. */
  restart: z.number().int().min(0).default(0),
  /** The gate's run span, when traces are exported: the carry-out's run span joins its trace. */
  trace: traceContextSchema.optional(),
});
export type RunJob = z.infer<typeof runJobSchema>;

/** The run queue's policy: a job that failed is retried, and resumes. */
export const RUN_RETRY = { retryLimit: 2, retryDelay: 5, retryBackoff: true } as const;
/** The queue's own limit on a run's job; a worker that dies is noticed much sooner, by its heartbeat. */
export const RUN_EXPIRE_SECONDS = 2 * 60 * 60;
/**
 * A running run's worker beats every second (src/pipeline/cancel.ts); a run whose heartbeat is
 * older than this is taken over by a new job (src/jobs/run-sweep.ts), which resumes it.
 */
export const HEARTBEAT_STALE_SECONDS = 45;
/** How often each worker process looks for runs whose heartbeat stopped. */
export const RUN_SWEEP_SECONDS = 15;

/** Edits of one issue within this many seconds make at most two gate runs (now and one after). */
export const EDIT_DEBOUNCE_SECONDS = 30;

/** Retry policy of the work queues: transient failures back off exponentially from 10 s. */
export const RETRY = { retryLimit: 4, retryDelay: 10, retryBackoff: true } as const;
