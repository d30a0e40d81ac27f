/**
 * Read-only listing and search of the workspace through git (`git ls-files`, `git grep`), with
 * caps on what comes back: the cheap way for an agent to find its way without reading trees.
 */
import { z } from "zod";
import type { ToolDefinition } from "../../llm/model.js";
import { hostGitOutput } from "../../workspace/host-git.js";
import { isGitName } from "../../workspace/tree-guard.js";
import type { AgentTool } from "../loop.js";

/** A search that takes longer than this (a pathological pattern) is stopped. */
const SEARCH_TIMEOUT_MS = 20_000;

const listInput = z.strictObject({ path: z.string().default("."), pattern: z.string().optional() });
const searchInput = z.strictObject({ query: z.string().min(1).max(500), path: z.string().default("."), regex: z.boolean().default(false) });

export const LIST_FILES_TOOL: ToolDefinition = {
  name: "list_files",
  description: "List the files git tracks under a folder, optionally filtered by a glob (e.g. src/**/*.ts). At most 500 paths.",
  input_schema: z.toJSONSchema(listInput) as Record<string, unknown>,
};

export const SEARCH_TOOL: ToolDefinition = {
  name: "search",
  description: "Search tracked files for text (or a regular expression with regex: true). At most 200 matching lines, as path:line:text.",
  input_schema: z.toJSONSchema(searchInput) as Record<string, unknown>,
};

function invalid(tool: string, error: z.ZodError) {
  return {
    content: `invalid input for ${tool}: ${error.issues.map((i) => `${i.path.join(".") || "(input)"}: ${i.message}`).join("; ")}`,
    isError: true,
  };
}

/** Paths must stay relative and inside: git itself refuses `..` outside the repository. */
function badPath(p: string): boolean {
  const parts = p.split("/");
  return p.startsWith("/") || parts.includes("..") || parts.some(isGitName);
}

export function repoSearchTools(cwd: string, caps = { files: 500, lines: 200, lineChars: 300 }): AgentTool[] {
  const git = async (args: string[]) => {
    try {
      return await hostGitOutput(cwd, args, { timeoutMs: SEARCH_TIMEOUT_MS, maxBuffer: 32 * 1024 * 1024 });
    } catch (error) {
      const e = error as { code?: number; stdout?: string; stderr?: string; killed?: boolean };
      if (e.code === 1 && !e.stderr) return ""; // git grep: no match
      if (e.killed) throw new Error(`stopped after ${SEARCH_TIMEOUT_MS / 1000} s: use a simpler pattern or a narrower path`);
      throw new Error(String(e.stderr ?? error).split("\n")[0]);
    }
  };
  const cap = (lines: string[], max: number, what: string) =>
    lines.length > max
      ? `${lines.slice(0, max).join("\n")}\n[… ${lines.length - max} more ${what}: narrow the path or the pattern]`
      : lines.join("\n");
  return [
    {
      definition: LIST_FILES_TOOL,
      async run(raw) {
        const parsed = listInput.safeParse(raw);
        if (!parsed.success) return invalid("list_files", parsed.error);
        const { path, pattern } = parsed.data;
        if (badPath(path)) return { content: `${path} is not a path inside the repository`, isError: true };
        if (pattern !== undefined && badPath(pattern))
          return { content: `${pattern} is not a pattern inside the repository (no "..", no leading "/", no .git)`, isError: true };
        const spec = pattern ? `:(glob)${path === "." ? "" : `${path.replace(/\/$/, "")}/`}${pattern}` : path;
        let files: string[];
        try {
          files = (await git(["ls-files", "-z", "--", spec])).split("\0").filter(Boolean);
        } catch (error) {
          return { content: `list_files failed: ${(error as Error).message}`, isError: true };
        }
        return { content: files.length ? cap(files, caps.files, "paths") : "no tracked files match", isError: false };
      },
    },
    {
      definition: SEARCH_TOOL,
      async run(raw) {
        const parsed = searchInput.safeParse(raw);
        if (!parsed.success) return invalid("search", parsed.error);
        const { query, path, regex } = parsed.data;
        if (badPath(path)) return { content: `${path} is not a path inside the repository`, isError: true };
        try {
          const out = await git(["grep", "-n", "-I", "--no-color", regex ? "-E" : "-F", "-e", query, "--", path]);
          const lines = out
            .split("\n")
            .filter(Boolean)
            .map((l) => (l.length > caps.lineChars ? `${l.slice(0, caps.lineChars)}…` : l));
          return { content: lines.length ? cap(lines, caps.lines, "matching lines") : "no matches", isError: false };
        } catch (error) {
          return { content: `search failed: ${(error as Error).message}`, isError: true };
        }
      },
    },
  ];
}
