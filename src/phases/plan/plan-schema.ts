/** The plan the planning agent submits, as the `submit_plan` tool and its zod schema. */
import { z } from "zod";
import type { ToolDefinition } from "../../llm/model.js";
import { answerTool } from "../structured.js";

const path = z.string().min(1).max(300);

export const workUnitSchema = z.strictObject({
  id: z.string().regex(/^[a-z0-9][a-z0-9-]{0,39}$/, "a short lower-case slug such as parse-config"),
  title: z.string().min(1).max(200),
  instructions: z.string().min(1).max(8_000),
  files: z.array(path).max(50),
});

export const planSchema = z
  .strictObject({
    summary: z.string().min(1).max(2_000),
    steps: z.array(z.string().min(1).max(1_000)).min(1).max(30),
    files: z.array(path).max(100),
    work_units: z.array(workUnitSchema).min(1).max(4),
    test_strategy: z.string().min(1).max(2_000),
    acceptance_checks: z.array(z.string().min(1).max(500)).min(1).max(20),
  })
  .superRefine((plan, ctx) => {
    const ids = new Set<string>();
    const owner = new Map<string, string>();
    plan.work_units.forEach((unit, i) => {
      if (ids.has(unit.id)) ctx.addIssue({ code: "custom", path: ["work_units", i, "id"], message: `the id ${unit.id} is used twice` });
      ids.add(unit.id);
      for (const file of unit.files) {
        const other = owner.get(file);
        if (other && other !== unit.id)
          ctx.addIssue({
            code: "custom",
            path: ["work_units", i, "files"],
            message: `${file} is owned by ${other} too: two units may not own the same file`,
          });
        owner.set(file, unit.id);
      }
    });
  });

export type Plan = z.output<typeof planSchema>;
export type WorkUnit = z.output<typeof workUnitSchema>;

export const PLAN_TOOL: ToolDefinition = answerTool(
  "submit_plan",
  "Submit the plan. Call it once, when you have read enough of the repository.",
  planSchema,
);
