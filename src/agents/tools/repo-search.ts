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

const listInput = z.strictObject({
  path: z.string().default(".").describe("A folder relative to the repository root; . for all."),
  pattern: z.string().optional().describe("A glob relative to path, e.g. **/*.test.ts (* does not cross /)."),
});
const searchInput = z.strictObject({
  query: z.string().min(1).max(500).describe("The text to find (case-sensitive), or an extended regular expression with regex: true."),
  path: z.string().default(".").describe("A file or folder relative to the repository root to search in; . for all."),
  regex: z.boolean().default(false).describe("Read query as an extended regular expression (grep -E)."),
});

export const LIST_FILES_TOOL: ToolDefinition = {
  name: "list_files",
  description:
    "List the repository's files under a folder (tracked, and new ones not ignored), optionally filtered by a glob. At most 300 paths.",
  input_schema: z.toJSONSchema(listInput) as Record<string, unknown>,
};

export const SEARCH_TOOL: ToolDefinition = {
  name: "search",
  description:
    "Search the repository's files (tracked, and new ones not ignored) for text, or a regular expression with regex: true. At most 100 matching lines (8,000 characters), as path:line:text.",
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

export function repoSearchTools(
  cwd: string,
  caps: { files: number; lines: number; lineChars: number; chars?: number } = { files: 300, lines: 100, lineChars: 200 },
): AgentTool[] {
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
  const cap = (lines: string[], max: number, what: string) => {
    let shown = Math.min(lines.length, max);
    // and at most `caps.chars` characters in all, however short the lines
    while (shown > 1 && lines.slice(0, shown).join("\n").length > (caps.chars ?? 8_000)) shown = Math.floor(shown * 0.8);
    return shown < lines.length
      ? `${lines.slice(0, shown).join("\n")}\n[… ${lines.length - shown} more ${what}: narrow the path or the pattern]`
      : lines.join("\n");
  };
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
          // files the agents created in this run are not tracked yet: listed too, unless ignored
          files = (await git(["ls-files", "-z", "--cached", "--others", "--exclude-standard", "--", spec])).split("\0").filter(Boolean);
          files = [...new Set(files)].sort();
        } catch (error) {
          return { content: `list_files failed: ${(error as Error).message}`, isError: true };
        }
        return { content: files.length ? cap(files, caps.files, "paths") : "no files match", isError: false };
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
          const out = await git(["grep", "-n", "-I", "--no-color", "--untracked", regex ? "-E" : "-F", "-e", query, "--", path]);
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
