/**
 * Anthropic's text-editor tool (`str_replace_based_edit_tool`: view, create, str_replace,
 * insert), run against a workspace under its path policy. A model's mistake (a bad path, an
 * ambiguous replacement, input that fits no command) comes back as an error result the model
 * can act on; it never throws.
 */
import { createReadStream } from "node:fs";
import { mkdir, readdir, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { createInterface } from "node:readline";
import { z } from "zod";
import type { ToolDefinition } from "../../llm/model.js";
import { readFileContent } from "./file-content.js";
import { PathRefused, type PathPolicy } from "./path-policy.js";

export const TEXT_EDITOR_TOOL: ToolDefinition = { type: "text_editor_20250728", name: "str_replace_based_edit_tool" };

export interface ToolOutcome {
  content: string;
  isError: boolean;
}

const input = z.discriminatedUnion("command", [
  z.object({ command: z.literal("view"), path: z.string(), view_range: z.tuple([z.int().min(1), z.int().min(-1)]).optional() }),
  z.object({ command: z.literal("create"), path: z.string(), file_text: z.string() }),
  z.object({ command: z.literal("str_replace"), path: z.string(), old_str: z.string().min(1), new_str: z.string().default("") }),
  z.object({ command: z.literal("insert"), path: z.string(), insert_line: z.int().min(0), insert_text: z.string() }),
]);

const MAX_RANGE_LINES = 2_000;
const MAX_DIR_ENTRIES = 300;

const ok = (content: string): ToolOutcome => ({ content, isError: false });
const fail = (content: string): ToolOutcome => ({ content, isError: true });

function numbered(lines: string[], first: number): string {
  return lines.map((line, i) => `${String(first + i).padStart(6)}\t${line}`).join("\n");
}

export class TextEditor {
  constructor(
    private readonly policy: PathPolicy,
    private readonly maxOutputChars = 16_000,
  ) {}

  async run(raw: unknown): Promise<ToolOutcome> {
    const parsed = input.safeParse(raw);
    if (!parsed.success) {
      return fail(
        `invalid input for str_replace_based_edit_tool: ${parsed.error.issues.map((i) => `${i.path.join(".") || "(input)"}: ${i.message}`).join("; ")}`,
      );
    }
    try {
      const cmd = parsed.data;
      switch (cmd.command) {
        case "view":
          return this.#cap(await this.#view(cmd.path, cmd.view_range));
        case "create":
          return await this.#create(cmd.path, cmd.file_text);
        case "str_replace":
          return await this.#replace(cmd.path, cmd.old_str, cmd.new_str);
        case "insert":
          return await this.#insert(cmd.path, cmd.insert_line, cmd.insert_text);
      }
    } catch (error) {
      if (error instanceof PathRefused) return fail(error.message);
      const code = (error as NodeJS.ErrnoException).code;
      if (code === "ENOENT") return fail(`${(parsed.data as { path: string }).path} does not exist`);
      if (code === "EISDIR") return fail(`${(parsed.data as { path: string }).path} is a directory`);
      throw error;
    }
  }

  #cap(outcome: ToolOutcome): ToolOutcome {
    if (outcome.content.length <= this.maxOutputChars) return outcome;
    // cut at a line end, and say which lines were shown of how many, so the model can ask for a range
    const head = outcome.content.slice(0, this.maxOutputChars);
    const kept = head.slice(0, Math.max(head.lastIndexOf("\n"), 0));
    const lines = outcome.content.split("\n");
    const lineNo = (line: string | undefined) => Number(/^\s*(\d+)\t/.exec(line ?? "")?.[1] ?? 0);
    const [first, lastShown, total] = [lineNo(lines[0]), lineNo(kept.split("\n").at(-1)), lineNo(lines.at(-1))];
    const note =
      first && lastShown && total
        ? `[… showing lines ${first}-${lastShown} of ${first === 1 ? "" : "the "}${total.toLocaleString("en-US")}${first === 1 ? "" : " asked for"}: view a line range for the rest]`
        : `[… ${(outcome.content.length - kept.length).toLocaleString("en-US")} characters cut: view a smaller line range]`;
    return { ...outcome, content: `${kept}\n${note}` };
  }

  async #view(requested: string, range?: [number, number]): Promise<ToolOutcome> {
    const { abs, rel } = await this.policy.resolve(requested, "read");
    const info = await stat(abs);
    if (info.isDirectory()) return ok(await this.#listing(abs, rel));
    if (range) {
      const [start, end] = range;
      if (end !== -1 && end < start) return fail(`view_range [${start}, ${end}] ends before it starts`);
      const last = end === -1 ? start + MAX_RANGE_LINES - 1 : Math.min(end, start + MAX_RANGE_LINES - 1);
      const probe = await readFileContent(abs, rel);
      if (probe.kind === "described" && !probe.description.includes("too large")) return ok(probe.description);
      const lines = await readLines(abs, start, last);
      if (lines.length === 0) return fail(`${rel} has fewer than ${start} lines`);
      const note = end !== -1 && end > last ? `\n[… shown up to line ${last}: at most ${MAX_RANGE_LINES} lines per view]` : "";
      return ok(numbered(lines, start) + note);
    }
    const content = await readFileContent(abs, rel);
    if (content.kind === "described") return ok(content.description);
    return ok(numbered(content.text.split("\n"), 1));
  }

  async #listing(abs: string, rel: string): Promise<string> {
    const out: string[] = [];
    const walk = async (dir: string, prefix: string, depth: number) => {
      const entries = (await readdir(dir, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name));
      for (const e of entries) {
        if (e.name === ".git" || out.length >= MAX_DIR_ENTRIES) continue;
        const child = path.join(dir, e.name);
        if (e.isDirectory()) {
          const submodule = (await readdir(child).catch(() => [] as string[])).includes(".git");
          out.push(`${prefix}${e.name}/${submodule ? " (git submodule: not checked out here)" : ""}`);
          if (depth < 2 && !submodule) await walk(child, `${prefix}${e.name}/`, depth + 1);
        } else out.push(`${prefix}${e.name}${e.isSymbolicLink() ? " (symlink)" : ""}`);
      }
    };
    await walk(abs, "", 1);
    const more = out.length >= MAX_DIR_ENTRIES ? `\n[… listing cut at ${MAX_DIR_ENTRIES} entries: view a subdirectory]` : "";
    return `${rel || "."}/ (2 levels):\n${out.join("\n")}${more}`;
  }

  async #create(requested: string, text: string): Promise<ToolOutcome> {
    const { abs, rel } = await this.policy.resolve(requested, "write");
    const existed = await stat(abs).then(
      (s) => (s.isDirectory() ? "dir" : "file"),
      () => null,
    );
    if (existed === "dir") return fail(`${rel} is a directory`);
    await mkdir(path.dirname(abs), { recursive: true });
    await writeFile(abs, text, "utf8");
    return ok(`${existed ? "overwrote" : "created"} ${rel} (${text.split("\n").length} lines)`);
  }

  async #editable(requested: string): Promise<{ abs: string; rel: string; text: string } | ToolOutcome> {
    const { abs, rel } = await this.policy.resolve(requested, "write");
    const content = await readFileContent(abs, rel);
    if (content.kind === "described") return fail(`${content.description}; it cannot be edited with this tool`);
    return { abs, rel, text: content.text };
  }

  async #replace(requested: string, oldStr: string, newStr: string): Promise<ToolOutcome> {
    const file = await this.#editable(requested);
    if ("isError" in file) return file;
    const count = file.text.split(oldStr).length - 1;
    if (count === 0) return fail(`old_str was not found in ${file.rel}: view the file and copy the text exactly, whitespace included`);
    if (count > 1) return fail(`old_str occurs ${count} times in ${file.rel}: include more surrounding lines so that it is unique`);
    const at = file.text.indexOf(oldStr);
    const updated = file.text.slice(0, at) + newStr + file.text.slice(at + oldStr.length);
    await writeFile(file.abs, updated, "utf8");
    const firstLine = file.text.slice(0, at).split("\n").length;
    const shown = updated.split("\n").slice(Math.max(0, firstLine - 3), firstLine + newStr.split("\n").length + 2);
    return ok(`edited ${file.rel}:\n${numbered(shown, Math.max(1, firstLine - 2))}`);
  }

  async #insert(requested: string, line: number, text: string): Promise<ToolOutcome> {
    const file = await this.#editable(requested);
    if ("isError" in file) return file;
    const lines = file.text.split("\n");
    if (line > lines.length) return fail(`insert_line ${line} is past the end of ${file.rel} (${lines.length} lines)`);
    lines.splice(line, 0, ...text.split("\n"));
    await writeFile(file.abs, lines.join("\n"), "utf8");
    return ok(`inserted ${text.split("\n").length} line(s) after line ${line} of ${file.rel}`);
  }
}

/** Lines `start`..`end` (1-based, inclusive) of a file of any size, read as a stream. */
async function readLines(abs: string, start: number, end: number): Promise<string[]> {
  const lines: string[] = [];
  const reader = createInterface({ input: createReadStream(abs, { encoding: "utf8" }), crlfDelay: Infinity });
  let n = 0;
  for await (const line of reader) {
    n++;
    if (n >= start) lines.push(line);
    if (n >= end) break;
  }
  reader.close();
  return lines;
}
