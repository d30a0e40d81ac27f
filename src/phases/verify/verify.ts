/**
 * The verify phase: the repo's `verify.commands`, in order, in the sandbox, each with a timeout.
 * When any fails, the `light` tier triages the failing parts of their output (not the whole
 * log) into short findings the next execution round can act on.
 */
import { z } from "zod";
import { commandRecorder } from "../../stores/agent-records.js";
import { CommandRefused, CommandRunner } from "../../agents/tools/command.js";
import type { ToolDefinition } from "../../llm/model.js";
import { loadPrompt } from "../../prompts/prompt.js";
import { commandsDisabled } from "../../sandbox/sandbox.js";
import type { PhaseEnv, WorkTree } from "../agent-env.js";
import { answerTool, structuredCall } from "../structured.js";
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
        problem: z.string().min(1).max(1_000),
        fix: z.string().min(1).max(1_000),
      }),
    )
    .max(20),
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
}

export interface VerifyOutput {
  passed: boolean;
  checks: CheckResult[];
  triage?: Triage;
  /** Why the checks were not run (no sandbox: commands are disabled). */
  notRun?: string;
}

export async function runVerify(env: PhaseEnv, tree: WorkTree): Promise<VerifyOutput> {
  const { dir } = tree;
  const commands = env.config.verify.commands ?? [];
  const { timeout_seconds } = env.config.verify;
  const disabled = commandsDisabled(env.sandbox);
  if (disabled && commands.length) {
    env.log.warn({ reason: disabled }, "verify did not run");
    return { passed: false, checks: [], notRun: disabled };
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
  const record = commandRecorder(env.db, { runId: env.runId, phase: PHASE.verify, agent: "verify", cwd: dir });
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
  const failed = checks.filter((c) => c.exitCode !== 0 || c.timedOut);
  if (!failed.length) return { passed: true, checks };

  const failures = failed
    .map((c) => `$ ${c.argv.join(" ")}\n${c.timedOut ? "(timed out)" : `exit code ${c.exitCode}`}\n${c.excerpt}`)
    .join("\n\n");
  const prompt = (await loadPrompt("verify/triage")).render({ failures });
  const triage = await structuredCall(env.model, {
    prompt,
    tool: TRIAGE_TOOL,
    noun: "triage",
    schema: triageSchema,
    context: { runId: env.runId, installationId: env.installationId, phase: PHASE.verify, agent: "triage", iteration: env.iteration },
    maxTokens: 1_500,
    signal: env.signal,
  });
  return { passed: false, checks, triage: triage.value };
}
