/**
 * One execution agent: a work unit of the plan, carried out in its own worktree with the
 * writer's tools. Its cached prefix is the tools, the system prompt with the <environment> block
 * (the same for every unit of the run) and a repo map focused on the unit's files; the task
 * (issue, plan, unit, feedback) is the first message. It ends by calling `finish_unit`; when it
 * stops at a limit or a refusal instead, its work is kept and the unit is marked unfinished.
 */
import type { AgentLimits } from "../../agents/limits.js";
import { runAgent } from "../../agents/loop.js";
import { canRunCommands, toolbox } from "../../agents/toolbox.js";
import { buildRepoMap } from "../../context/repo-map.js";
import { readConventions } from "../../context/conventions.js";
import { cachedPrefix } from "../../llm/prompt-cache.js";
import { loadPrompt } from "../../prompts/prompt.js";
import type { PhaseEnv, WorkTree } from "../agent-env.js";
import { environmentBlock } from "../environment.js";
import type { Plan, WorkUnit } from "../plan/plan-schema.js";
import { PHASE } from "../registry.js";
import { FINISH_UNIT, FINISH_UNIT_TOOL, finishProblem, finishSchema, type ThreadAnswer } from "./finish.js";
import { threadIdsIn } from "./thread-answers.js";

export interface UnitInput {
  /** The run's starting commit (the base every unit's work is measured from): the convention files are read from it. */
  base: string;
  issue: string;
  plan: Plan;
  unit: WorkUnit;
  /** Findings from the previous round's checks and review, when there are any. */
  feedback?: string;
  /** Set when the unit is redone on the merged tree after a conflict. */
  redo?: string;
}

export interface UnitOutput {
  /** The agent's summary: what it changed, or why it changed nothing (its last words when it did not finish). */
  summary: string;
  turns: number;
  /** Why the agent stopped without calling finish_unit (a limit, a refusal); absent when it finished. */
  unfinished?: string;
  /** Its answers to the review threads of the feedback, by thread id. */
  answers?: ThreadAnswer[];
  filesTouched?: string[];
  openQuestions?: string[];
}

export function unitTask(input: UnitInput): string {
  const { plan, unit } = input;
  return [
    "<issue>",
    input.issue,
    "</issue>",
    "",
    "<plan>",
    plan.summary,
    "",
    "Steps:",
    ...plan.steps.map((s, i) => `${i + 1}. ${s}`),
    "",
    `Test strategy: ${plan.test_strategy}`,
    "",
    "Acceptance checks:",
    ...plan.acceptance_checks.map((c) => `- ${c}`),
    "</plan>",
    "",
    `<work_unit id="${unit.id}">`,
    `# ${unit.title}`,
    unit.instructions,
    "",
    `Files it owns: ${unit.files.join(", ") || "(none named)"}`,
    "</work_unit>",
    ...(input.redo ? ["", "<redo>", input.redo, "</redo>"] : []),
    ...(input.feedback ? ["", "<feedback>", input.feedback, "</feedback>"] : []),
    "",
    `Carry out this work unit now, then call ${FINISH_UNIT}.`,
  ].join("\n");
}

/** The system prompt with the <environment> block, for a unit (`fix` when it addresses feedback). */
export async function unitSystem(env: PhaseEnv, dir: string, fix: boolean, base: string) {
  const prompt = (await loadPrompt("execute/system")).render({});
  const environment = environmentBlock({
    role: fix ? "fix" : "unit",
    config: env.config,
    installed: env.installed,
    commandsRun: canRunCommands({ role: "writer", sandbox: env.sandbox, config: env.config }),
    // from the run's starting commit: this tree holds what setup installed and earlier agents wrote
    conventions: await readConventions(dir, base),
    finish: FINISH_UNIT,
  });
  return { prompt, text: `${prompt.text}\n\n${environment}` };
}

export async function runUnit(env: PhaseEnv, tree: WorkTree, input: UnitInput, limits?: Partial<AgentLimits>): Promise<UnitOutput> {
  const { dir } = tree;
  const agent = `execute/${input.unit.id}`;
  // a unit with feedback is the fix unit: the only unit of a round after the first, or of a revision
  const { prompt, text: system } = await unitSystem(env, dir, input.feedback !== undefined, input.base);
  const tools = await toolbox({
    dir,
    config: env.config,
    role: "writer",
    sandbox: env.sandbox,
    readOnly: tree.readOnly,
    runDir: tree.runDir,
    commandEnv: tree.env,
    binds: tree.binds,
    records: env.records,
    where: { runId: env.runId, phase: PHASE.execute, agent },
  });
  const map = await buildRepoMap({ dir, task: `${input.unit.title}\n${input.unit.instructions}\n${input.issue}`, focus: input.unit.files });
  const prefix = cachedPrefix({ system, context: map.text });
  const threads = threadIdsIn(input.feedback);
  const result = await runAgent({
    model: env.model,
    records: env.records,
    context: {
      runId: env.runId,
      installationId: env.installationId,
      phase: PHASE.execute,
      agent,
      iteration: env.iteration,
      prompt: { id: prompt.id, sha256: prompt.sha256 },
    },
    system: prefix.system,
    tools,
    finishTool: FINISH_UNIT_TOOL,
    validateFinish: (finish) => finishProblem(finish, threads),
    task: unitTask(input),
    limits,
    endAtLimit: true,
    signal: env.signal,
  });
  if (result.submitted) {
    const done = finishSchema.parse(result.submitted.input);
    return {
      summary: done.summary.trim(),
      turns: result.turns,
      ...(done.answers?.length ? { answers: done.answers } : {}),
      filesTouched: done.files_touched,
      ...(done.open_questions?.length ? { openQuestions: done.open_questions } : {}),
    };
  }
  env.log.warn({ unit: input.unit.id, why: result.stopped?.message }, "work unit stopped before finishing: its work is kept");
  return {
    summary: result.text.trim() || "(the agent gave no summary)",
    turns: result.turns,
    unfinished: result.stopped?.message ?? "the agent stopped without calling finish_unit",
  };
}
