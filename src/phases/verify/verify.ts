/**
 * The verify phase: the repo's `verify.commands`, in order, in the sandbox, each with a timeout.
 * When any fails, the `light` tier triages the failing parts of their output (not the whole
 * log) into short findings the next execution round can act on; when no triage can be had (cut
 * off or refused twice), the raw failing output goes to the next round instead.
 *
 * The same commands run once on the base commit before any change (`runBaseline`): a check that
 * already failed there, the same way, is `preexisting`, which does not by itself fail the
 * verification, is not triaged, and is reported as such (the reviewer sees it too).
 */
import { z } from "zod";
import { CommandRefused, CommandRunner } from "../../agents/tools/command.js";
import type { ToolDefinition } from "../../llm/model.js";
import { loadPrompt } from "../../prompts/prompt.js";
import { commandsDisabled } from "../../sandbox/sandbox.js";
import type { PhaseEnv, WorkTree } from "../agent-env.js";
import { answerTool, StructuredOutputError, structuredCall } from "../structured.js";
import { failingParts } from "./failing-parts.js";
import { countTests, type TestCount } from "./test-summary.js";

const withCount = (tests: TestCount | undefined) => (tests ? { tests } : {});
import { PHASE } from "../registry.js";

export const triageSchema = z.strictObject({
  summary: z.string().min(1).max(1_000),
  findings: z
    .array(
      z.strictObject({
        file: z.string().max(300).optional(),
        line: z.int().min(0).optional(),
        problem: z.string().min(1).max(800),
        fix: z.string().min(1).max(800),
      }),
    )
    .max(8),
});
export type Triage = z.output<typeof triageSchema>;

export const TRIAGE_TOOL: ToolDefinition = answerTool("submit_triage", "Submit the triage of the failed checks.", triageSchema);

export interface CheckResult {
  argv: string[];
  exitCode: number | null;
  timedOut: boolean;
  durationMs: number;
  /** The failing parts of the output (empty when it passed). */
  excerpt: string;
  /** The tests it ran, when its output has a runner's summary. */
  tests?: TestCount;
  /** It failed, and it already failed the same way on the base commit before any change. */
  preexisting?: boolean;
}

export interface VerifyOutput {
  passed: boolean;
  checks: CheckResult[];
  triage?: Triage;
  /** Why there is no triage of failed checks (its answer was cut off or refused twice). */
  triageFailed?: string;
  /** Why the checks were not run (no sandbox: commands are disabled). */
  notRun?: string;
}

/** The checks' results, or why they could not run. */
export interface Checks {
  checks: CheckResult[];
  notRun?: string;
}

const failing = (c: CheckResult) => c.exitCode !== 0 || c.timedOut;

/** Runs the verify commands in `tree` (no triage); `agent` names them in the command records. */
export async function runChecks(env: PhaseEnv, tree: WorkTree, agent = "verify"): Promise<Checks> {
  const { dir } = tree;
  const commands = env.config.verify.commands ?? [];
  const { timeout_seconds } = env.config.verify;
  const disabled = commandsDisabled(env.sandbox);
  if (disabled && commands.length) {
    env.log.warn({ reason: disabled }, "verify did not run");
    return { checks: [], notRun: disabled };
  }
  // verify commands come from the repo's own config: each is its own allow-list entry
  const runner = new CommandRunner({
    cwd: dir,
    allow: commands,
    sandbox: env.sandbox,
    readOnly: tree.readOnly,
    runDir: tree.runDir,
    env: tree.env,
    binds: tree.binds,
    timeoutMs: timeout_seconds * 1000,
    maxOutputChars: 60_000,
  });
  const record = env.records.commandRecorder({ runId: env.runId, phase: PHASE.verify, agent, cwd: dir });
  const checks: CheckResult[] = [];
  for (const argv of commands) {
    if (env.signal?.aborted) break;
    try {
      const result = await runner.run(argv, env.signal);
      await record(argv, result);
      const ok = result.exitCode === 0 && !result.timedOut;
      checks.push({
        argv,
        exitCode: result.exitCode,
        timedOut: result.timedOut,
        durationMs: result.durationMs,
        excerpt: ok ? "" : failingParts(result.output),
        ...withCount(countTests(result.output)),
      });
    } catch (error) {
      if (!(error instanceof CommandRefused)) throw error;
      checks.push({ argv, exitCode: null, timedOut: false, durationMs: 0, excerpt: error.message });
    }
  }
  return { checks };
}

/** The checks on the base commit, before any change: which of them already fail. */
export async function runBaseline(env: PhaseEnv, tree: WorkTree): Promise<Checks> {
  if (!(env.config.verify.commands ?? []).length) return { checks: [] };
  return runChecks(env, tree, "verify-baseline");
}

/**
 * Marks the failed checks that already failed on the base commit in the same way: the same
 * failing output, once numbers (times, ports, line numbers of a stack) are set aside. A check
 * that fails differently (a test the change broke, or the issue's own failing test now failing
 * with another value) is not preexisting: the change touched it.
 */
export function markPreexisting(checks: CheckResult[], baseline: CheckResult[] | undefined): CheckResult[] {
  if (!baseline?.length) return checks;
  return checks.map((c) => {
    const before = failing(c) && baseline.find((b) => failing(b) && b.argv.join("\0") === c.argv.join("\0"));
    return before && before.timedOut === c.timedOut && sameFailure(before.excerpt, c.excerpt) ? { ...c, preexisting: true } : c;
  });
}

const failureText = (excerpt: string) => excerpt.toLowerCase().replace(/\d+/g, "0").replace(/\s+/g, " ").trim();
const sameFailure = (a: string, b: string) => failureText(a) === failureText(b);

export async function runVerify(env: PhaseEnv, tree: WorkTree, baseline?: CheckResult[]): Promise<VerifyOutput> {
  const ran = await runChecks(env, tree);
  if (ran.notRun) return { passed: false, checks: [], notRun: ran.notRun };
  const checks = markPreexisting(ran.checks, baseline);
  const failed = checks.filter((c) => failing(c) && !c.preexisting);
  if (!failed.length) return { passed: true, checks };

  const failures = failed
    .map((c) => `$ ${c.argv.join(" ")}\n${c.timedOut ? "(timed out)" : `exit code ${c.exitCode}`}\n${c.excerpt}`)
    .join("\n\n");
  const before = checks.filter((c) => c.preexisting).map((c) => `$ ${c.argv.join(" ")}`);
  const prompt = (await loadPrompt("verify/triage")).render({ failures, preexisting: before.join("\n") || "(none)" });
  try {
    const triage = await structuredCall(env.model, {
      prompt,
      tool: TRIAGE_TOOL,
      noun: "triage",
      schema: triageSchema,
      context: { runId: env.runId, installationId: env.installationId, phase: PHASE.verify, agent: "triage", iteration: env.iteration },
      maxTokens: 4_096,
      brief: "at most 5 findings, one sentence each for the problem and the fix",
      signal: env.signal,
    });
    return { passed: false, checks, triage: triage.value };
  } catch (error) {
    // the raw failing output is still there for the next round: a missing triage costs a hint, not the run
    if (!(error instanceof StructuredOutputError)) throw error;
    env.log.warn({ err: error }, "no triage of the failed checks: the next round gets their raw output");
    return { passed: false, checks, triageFailed: error.message };
  }
}
