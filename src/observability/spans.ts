/**
 * The spans of a run, through the OpenTelemetry API only: without a tracer provider (no OTLP
 * endpoint, src/observability/tracing.ts) they are the API's no-op spans and cost next to
 * nothing. Nesting follows the async context: run → phase → chat / execute_tool → command.
 *
 * Nothing a prompt or an answer says goes on a span, nor any error message (they can quote
 * both): a failure is its error's class name in `error.type`. Command lines are masked.
 */
import {
  createContextKey,
  context,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Span,
  type SpanOptions,
} from "@opentelemetry/api";
import { maskSecrets } from "../safety/secrets.js";
import { conventions, ERROR_TYPE, GEN_AI, GEN_AI_OPERATION, VCS } from "./semconv.js";

export const TRACER_NAME = "tollgate";

export function tracer() {
  return trace.getTracer(TRACER_NAME);
}

const errorName = (error: unknown) => (error instanceof Error ? error.name : typeof error);

/** Runs `fn` in a new active span (a child of `parent`'s span), ended when `fn` settles; a throw marks it failed. */
export async function inSpan<T>(
  name: string,
  options: SpanOptions,
  fn: (span: Span) => Promise<T>,
  parent: Context = context.active(),
): Promise<T> {
  return tracer().startActiveSpan(name, options, parent, async (span) => {
    try {
      return await fn(span);
    } catch (error) {
      failed(span, errorName(error));
      throw error;
    } finally {
      span.end();
    }
  });
}

function failed(span: Span, type: string): void {
  span.setAttribute(ERROR_TYPE, type);
  span.setStatus({ code: SpanStatusCode.ERROR });
}

/** The run span of the current context, for what is learnt about the run as it goes (its PR). */
const RUN_SPAN = createContextKey("tollgate run span");

export interface RunFacts {
  runId: string;
  /** `gate`: the trigger's job, up to the verdict; `carry_out`: the run job, plan to pull request. */
  step: "gate" | "carry_out";
  installationId: number;
  owner: string;
  repo: string;
  issue: number;
  /** The repository's clone URL (https://host/owner/repo.git), for links to the issue and PR. */
  cloneUrl?: string;
  restart?: number;
  /** The trace context of the run span this one continues (the gate's, carried by the run job). */
  parent?: TraceContext;
}

/** A span's W3C trace context (`traceparent`, `tracestate`), as a job carries it to another process. */
export interface TraceContext {
  traceparent: string;
  tracestate?: string;
}

/**
 * The span of one job's work on a run, linking its issue; `annotatePullRequest` adds the PR. The
 * root of a trace, or the child of the run span whose trace context `facts.parent` carries.
 */
export async function runSpan<T extends { outcome: string }>(facts: RunFacts, fn: () => Promise<T>): Promise<T> {
  const web = repositoryWebUrl(facts.cloneUrl);
  const attributes: Attributes = {
    "tollgate.run.id": facts.runId,
    "tollgate.run.step": facts.step,
    "tollgate.installation.id": facts.installationId,
    "tollgate.repository": `${facts.owner}/${facts.repo}`,
    "tollgate.issue.number": facts.issue,
    ...(web ? { "tollgate.issue.url": `${web}/issues/${facts.issue}` } : {}),
    ...(facts.restart !== undefined ? { "tollgate.run.restart": facts.restart } : {}),
    ...(conventions().latest
      ? {
          [VCS.providerName]: "github",
          [VCS.ownerName]: facts.owner,
          [VCS.repositoryName]: facts.repo,
          ...(web ? { [VCS.repositoryUrlFull]: web } : {}),
        }
      : {}),
  };
  // the gate's run span when the job carries it, so a run is one trace; a new trace otherwise
  const remote = facts.parent && trace.getSpanContext(propagation.extract(ROOT_CONTEXT, facts.parent));
  const parent = remote ? trace.setSpanContext(context.active(), remote) : context.active();
  const options = { kind: SpanKind.INTERNAL, attributes, root: !remote };
  return inSpan(
    "run",
    options,
    async (span) => {
      const result = await context.with(context.active().setValue(RUN_SPAN, span), fn);
      span.setAttribute("tollgate.run.outcome", result.outcome);
      return result;
    },
    parent,
  );
}

/**
 * The trace context of the current run span, for the job that carries the run on (possibly in
 * another process). Undefined outside a run span, and when tracing is off: the API's no-op
 * propagator writes nothing.
 */
export function runTraceContext(): TraceContext | undefined {
  const span = context.active().getValue(RUN_SPAN) as Span | undefined;
  if (!span) return undefined;
  const carrier: Record<string, string> = {};
  propagation.inject(trace.setSpan(ROOT_CONTEXT, span), carrier);
  // only the W3C trace context goes in the job, whatever else a propagator may write
  const { traceparent, tracestate } = carrier;
  return traceparent ? { traceparent, ...(tracestate ? { tracestate } : {}) } : undefined;
}

/** Adds the pull request a run opened or updated to its run span. */
export function annotatePullRequest(pr: { url: string; number: number; branch: string }): void {
  const span = context.active().getValue(RUN_SPAN) as Span | undefined;
  span?.setAttributes({
    "tollgate.pr.number": pr.number,
    "tollgate.pr.url": pr.url,
    "tollgate.branch": pr.branch,
    ...(conventions().latest ? { [VCS.changeId]: String(pr.number), [VCS.refHeadName]: pr.branch } : {}),
  });
}

/** A repository's web address from its clone URL (credentials dropped), or undefined. */
export function repositoryWebUrl(cloneUrl: string | undefined): string | undefined {
  if (!cloneUrl) return undefined;
  try {
    const url = new URL(cloneUrl);
    if (url.protocol !== "https:" && url.protocol !== "http:") return undefined;
    url.username = "";
    url.password = "";
    url.search = "";
    url.hash = "";
    return url.toString().replace(/\.git$/, "");
  } catch {
    return undefined;
  }
}

/** One phase of one round (`iteration`: 0 for gate, setup and plan; the round from 1 on). */
export async function phaseSpan<T extends { restored: boolean }>(
  where: { runId: string; phase: string; iteration: number },
  fn: () => Promise<T>,
): Promise<T> {
  const attributes = { "tollgate.run.id": where.runId, "tollgate.phase": where.phase, "tollgate.round": where.iteration };
  return inSpan(`phase ${where.phase}`, { kind: SpanKind.INTERNAL, attributes }, async (span) => {
    const result = await fn();
    // a checkpoint of an earlier attempt: nothing ran in this one
    span.setAttribute("tollgate.phase.restored", result.restored);
    return result;
  });
}

/** An agent's tool call, as the GenAI conventions describe tool execution. */
export async function toolSpan<T extends { isError: boolean }>(call: { name: string; id: string }, fn: () => Promise<T>): Promise<T> {
  const attributes = {
    [GEN_AI.operationName]: GEN_AI_OPERATION.executeTool,
    [GEN_AI.toolName]: call.name,
    [GEN_AI.toolCallId]: call.id,
    [GEN_AI.toolType]: "function",
  };
  return inSpan(`${GEN_AI_OPERATION.executeTool} ${call.name}`, { kind: SpanKind.INTERNAL, attributes }, async (span) => {
    const outcome = await fn();
    // the tool answered, with an error for the model to read (a failing command, a bad path)
    if (outcome.isError) failed(span, "tool_error");
    return outcome;
  });
}

const MAX_COMMAND_CHARS = 512;

/** A command an agent or verify runs in the sandbox. */
export async function commandSpan<T extends { exitCode: number | null; signal: string | null; timedOut: boolean; limit?: string }>(
  argv: string[],
  fn: () => Promise<T>,
): Promise<T> {
  const program = (argv[0] ?? "").split("/").pop() || "command";
  const attributes = { "tollgate.command.line": maskSecrets(argv.join(" ")).slice(0, MAX_COMMAND_CHARS) };
  return inSpan(`command ${program}`, { kind: SpanKind.INTERNAL, attributes }, async (span) => {
    const result = await fn();
    span.setAttributes({
      ...(result.exitCode !== null ? { "tollgate.command.exit_code": result.exitCode } : {}),
      ...(result.signal ? { "tollgate.command.signal": result.signal } : {}),
      "tollgate.command.timed_out": result.timedOut,
      ...(result.limit ? { "tollgate.command.limit": result.limit } : {}),
    });
    if (result.exitCode !== 0) failed(span, result.timedOut ? "timeout" : result.limit ? `limit:${result.limit}` : "exit_code");
    return result;
  });
}
