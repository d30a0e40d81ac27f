/**
 * Prompts live in `prompts/<phase>/<name>.md` as Markdown with YAML front matter (id, version,
 * vars). Rendering is strict: a variable the template uses but the caller did not give, or one
 * given but not declared, is an error, so a prompt and its caller cannot drift apart silently.
 * Each rendering carries the prompt's id@version and the sha256 of the rendered text, which the
 * ledger records with the call.
 */
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import Handlebars from "handlebars";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { FinalError } from "../errors.js";

export const PROMPTS_DIR = fileURLToPath(new URL("../../prompts/", import.meta.url));

const frontMatterSchema = z.strictObject({
  id: z.string().regex(/^[a-z][a-z0-9_.-]*$/, "must be a lower-case id such as gate.verdict"),
  version: z.int().positive(),
  vars: z.array(z.string().regex(/^[a-z_][a-z0-9_]*$/)).default([]),
  description: z.string().optional(),
});

export interface Prompt {
  id: string;
  version: number;
  vars: string[];
  file: string;
  render(values: Record<string, string>): RenderedPrompt;
}

export interface RenderedPrompt {
  text: string;
  /** `id@version`, as the ledger stores it. */
  id: string;
  sha256: string;
}

export class PromptError extends FinalError {
  override name = "PromptError";
}

/** Reads and checks `prompts/<name>.md` (e.g. `gate/verdict`). */
export async function loadPrompt(name: string, dir = PROMPTS_DIR): Promise<Prompt> {
  const file = path.join(dir, `${name}.md`);
  const source = await readFile(file, "utf8");
  const match = /^---\n([\s\S]*?)\n---\n([\s\S]*)$/.exec(source);
  if (!match) throw new PromptError(`${file} has no front matter (--- id, version, vars ---)`);
  const parsed = frontMatterSchema.safeParse(parseYaml(match[1]!));
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new PromptError(`${file}: front matter ${issue.path.join(".") || "(top level)"} ${issue.message}`);
  }
  const { id, version, vars } = parsed.data;
  const template = Handlebars.compile(match[2]!, { strict: true, noEscape: true });
  const used = templateVariables(match[2]!);
  const undeclared = [...used].filter((v) => !vars.includes(v));
  if (undeclared.length) throw new PromptError(`${file} uses ${undeclared.join(", ")} without declaring them in vars`);
  return {
    id,
    version,
    vars,
    file,
    render(values) {
      const missing = vars.filter((v) => values[v] === undefined);
      const extra = Object.keys(values).filter((v) => !vars.includes(v));
      if (missing.length) throw new PromptError(`prompt ${id} needs ${missing.join(", ")}`);
      if (extra.length) throw new PromptError(`prompt ${id} does not take ${extra.join(", ")}`);
      const text = template(values);
      return { text, id: `${id}@${version}`, sha256: createHash("sha256").update(text).digest("hex") };
    },
  };
}

/** The simple variables (`{{name}}`) a template refers to. */
function templateVariables(source: string): Set<string> {
  const names = new Set<string>();
  const visit = (node: unknown): void => {
    if (!node || typeof node !== "object") return;
    const n = node as {
      type?: string;
      path?: { original?: string };
      params?: unknown[];
      body?: unknown[];
      program?: unknown;
      inverse?: unknown;
    };
    if ((n.type === "MustacheStatement" || n.type === "BlockStatement") && n.path?.original) names.add(n.path.original);
    for (const p of n.params ?? []) if ((p as { type?: string }).type === "PathExpression") names.add((p as { original: string }).original);
    for (const child of n.body ?? []) visit(child);
    visit(n.program);
    visit(n.inverse);
  };
  visit(Handlebars.parse(source));
  for (const helper of ["if", "unless", "each", "with"]) names.delete(helper);
  return names;
}
