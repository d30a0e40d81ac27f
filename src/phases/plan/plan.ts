/**
 * The plan phase (`deep`): a read-only agent explores the repository from a repo map and submits
 * a plan, validated against `planSchema` (an invalid plan goes back to the agent with the reason).
 */
import type { AgentLimits } from "../../agents/limits.js";
import { runAgent } from "../../agents/loop.js";
import { canRunCommands, toolbox } from "../../agents/toolbox.js";
import { readConventions } from "../../context/conventions.js";
import { environmentBlock } from "../environment.js";
import { buildRepoMap } from "../../context/repo-map.js";
import { cachedPrefix } from "../../llm/prompt-cache.js";
import { loadPrompt } from "../../prompts/prompt.js";
import type { PhaseEnv } from "../agent-env.js";
import { PLAN_TOOL, planSchema, type Plan } from "./plan-schema.js";
import { FinalError } from "../../errors.js";
import { PHASE } from "../registry.js";

export class PlanOutputError extends FinalError {
  override name = "PlanOutputError";
}

export async function runPlan(env: PhaseEnv, dir: string, issue: string, limits?: Partial<AgentLimits>): Promise<Plan> {
  const prompt = (await loadPrompt("plan/system")).render({});
  const tools = await toolbox({
    dir,
    config: env.config,
    role: "reader",
    sandbox: env.sandbox,
    records: env.records,
    where: { runId: env.runId, phase: PHASE.plan, agent: "plan" },
  });
  const map = await buildRepoMap({ dir, task: issue });
  // what the execution agents will be able to run and what will check their work, so the plan's test strategy is runnable
  const environment = environmentBlock({
    role: "plan",
    config: env.config,
    installed: env.installed,
    commandsRun: canRunCommands({ role: "writer", sandbox: env.sandbox, config: env.config }),
    // from the commit the plan is made on (the run's starting commit, checked out in `dir`), never the tree setup wrote
    conventions: await readConventions(dir, "HEAD"),
    finish: PLAN_TOOL.name,
  });
  const prefix = cachedPrefix({ system: `${prompt.text}\n\n${environment}`, context: map.text });
  const result = await runAgent({
    model: env.model,
    records: env.records,
    context: {
      runId: env.runId,
      installationId: env.installationId,
      phase: PHASE.plan,
      agent: "plan",
      iteration: 0,
      prompt: { id: prompt.id, sha256: prompt.sha256 },
    },
    system: prefix.system,
    tools,
    finishTool: PLAN_TOOL,
    validateFinish: (input) => {
      const parsed = planSchema.safeParse(input);
      return parsed.success ? undefined : parsed.error.issues.map((i) => `${i.path.join(".") || "(input)"}: ${i.message}`).join("; ");
    },
    task: `Plan the work for this issue.\n\n<issue>\n${issue}\n</issue>`,
    limits: { maxTurns: 25, ...limits },
    signal: env.signal,
  });
  if (!result.submitted) throw new PlanOutputError("the planning agent finished without submitting a plan");
  return planSchema.parse(result.submitted.input);
}
