/**
 * An evaluation suite: frozen tasks (a repository at a commit, an issue, hidden tests that decide
 * success), read from `<suite>/suite.yml`. A task's repository is either a folder of the suite
 * (committed afresh) or a commit of a fetched mirror (`/work/.mirror/<owner>+<name>/repo` by
 * default): the task starts from the commit's parent, and the commit's own versions of the
 * hidden paths are the check, as the project's authors wrote it.
 */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { parse as parseYaml } from "yaml";
import { z } from "zod";

const relative = z
  .string()
  .min(1)
  .refine((p) => !path.isAbsolute(p) && !p.split(/[\\/]/).includes(".."), "must be a path inside the suite or the repository");

const taskSchema = z.strictObject({
  id: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, "must be lower-case letters, digits and dashes"),
  issue: z.strictObject({ title: z.string().min(1), body: z.string().default("") }),
  repository: z.union([
    z.strictObject({ dir: relative }),
    z.strictObject({ mirror: z.string().regex(/^[\w.-]+\/[\w.-]+$/, "must be owner/name"), commit: z.string().regex(/^[0-9a-f]{7,40}$/) }),
  ]),
  /** What the gate should say: a vague ticket is `not_ready` (gate precision is measured on these). */
  expect: z.enum(["ready", "not_ready"]).default("ready"),
  hidden: z
    .strictObject({
      /** Files added after the run: from the mirror's commit, or from the suite folder `from`. */
      paths: z.array(relative).min(1),
      from: relative.optional(),
      command: z.array(z.string().min(1)).min(1),
      timeout_seconds: z.number().int().positive().max(3600).default(600),
    })
    .optional(),
  /** Scripted answers for `--scripted` (agent → answers, as `tollgate run --script`). */
  script: relative.optional(),
  budget_usd: z.number().positive().max(1000).default(10),
});

const suiteSchema = z.strictObject({ name: z.string().min(1), tasks: z.array(taskSchema).min(1) });

export type EvalTask = z.output<typeof taskSchema>;
export interface EvalSuite {
  name: string;
  dir: string;
  tasks: EvalTask[];
}

export class SuiteError extends Error {
  override name = "SuiteError";
}

export function loadSuite(dir: string): EvalSuite {
  const file = path.join(dir, "suite.yml");
  if (!existsSync(file)) throw new SuiteError(`${file}: no such file (a suite is a folder with a suite.yml)`);
  let raw: unknown;
  try {
    raw = parseYaml(readFileSync(file, "utf8"));
  } catch (error) {
    throw new SuiteError(`${file} is not valid YAML: ${(error as Error).message.split("\n")[0]}`);
  }
  const parsed = suiteSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new SuiteError(`${file}: ${issue.path.join(".") || "(top)"} ${issue.message}`);
  }
  const ids = new Set<string>();
  for (const t of parsed.data.tasks) {
    if (ids.has(t.id)) throw new SuiteError(`${file}: two tasks are named ${t.id}`);
    ids.add(t.id);
    if (t.expect === "ready" && !t.hidden) throw new SuiteError(`${file}: task ${t.id} expects a run but has no hidden check`);
    if (t.hidden && "dir" in t.repository && !t.hidden.from)
      throw new SuiteError(`${file}: task ${t.id}'s hidden files need \`from\` (a folder of the suite) when the repository is a folder`);
  }
  return { name: parsed.data.name, dir, tasks: parsed.data.tasks };
}
