/**
 * One execution agent: a work unit of the plan, carried out in its own worktree with the
 * writer's tools. Its cached prefix is the tools, the system prompt and a repo map focused on the
 * unit's files; the task (issue, plan, unit, feedback) is the first message.
 */
import { runAgent, type AgentLimits } from "../../agents/loop.js";
import { toolbox } from "../../agents/toolbox.js";
import { buildRepoMap } from "../../context/repo-map.js";
import { cachedPrefix } from "../../llm/prompt-cache.js";
import { loadPrompt } from "../../prompts/prompt.js";
import type { PhaseEnv, WorkTree } from "../agent-env.js";
import type { Plan, WorkUnit } from "../plan/plan-schema.js";
import { PHASE } from "../registry.js";

export interface UnitInput {
  issue: string;
  plan: Plan;
  unit: WorkUnit;
  /** Findings from the previous round's checks and review, when there are any. */
  feedback?: string;
  /** Set when the unit is redone on the merged tree after a conflict. */
  redo?: string;
}

export interface UnitOutput {
  /** The agent's final answer: what it changed, or why it changed nothing. */
  summary: string;
  turns: number;
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
    "Carry out this work unit now.",
  ].join("\n");
}

export async function runUnit(env: PhaseEnv, tree: WorkTree, input: UnitInput, limits?: Partial<AgentLimits>): Promise<UnitOutput> {
  const { dir } = tree;
  const agent = `execute/${input.unit.id}`;
  const prompt = (await loadPrompt("execute/system")).render({});
  const tools = await toolbox({
    dir,
    config: env.config,
    role: "writer",
    sandbox: env.sandbox,
    readOnly: tree.readOnly,
    runDir: tree.runDir,
    commandEnv: tree.env,
    binds: tree.binds,
    db: env.db,
    where: { runId: env.runId, phase: PHASE.execute, agent },
  });
  const map = await buildRepoMap({ dir, task: `${input.unit.title}\n${input.unit.instructions}\n${input.issue}`, focus: input.unit.files });
  const prefix = cachedPrefix({ system: prompt.text, context: map.text });
  const result = await runAgent({
    model: env.model,
    db: env.db,
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
    task: unitTask(input),
    limits,
    signal: env.signal,
  });
  return { summary: result.text.trim() || "(the agent gave no summary)", turns: result.turns };
}
