/**
 * The repo map: the files an agent most likely needs for its task, each with its top-level
 * symbols and their line numbers, cut to a token budget (default 2,000; Aider uses 1–4k). Its
 * size does not grow with the repository: ranking uses `git grep` for the task's terms and the
 * paths, and only the files that make it into the map are parsed.
 *
 * Ranking: a file scores the inverse document frequency of each task term it contains (rare
 * terms count more), twice that when the term is in its path, and a large bonus when the task
 * names the file. Ties go to source files the parser knows, then to shallow paths.
 */
import { readFile, stat } from "node:fs/promises";
import { PathPolicy, PathRefused } from "../agents/tools/path-policy.js";
import { approxTokens } from "../llm/tokens.js";
import { hostGitOutput } from "../workspace/host-git.js";
import { grammarFor, symbolsOf, type SourceSymbol } from "./symbols.js";

export const DEFAULT_MAP_TOKENS = 2_000;
/** Files larger than this are listed, not parsed (generated or minified code). */
const MAX_PARSE_BYTES = 256 * 1024;
const MAX_TERMS = 12;
const MAX_SYMBOLS_PER_FILE = 25;

export interface RepoMapOptions {
  dir: string;
  /** The task text (issue title and body, or a work unit). */
  task: string;
  /** Files the caller knows matter (e.g. a work unit's files): ranked first. */
  focus?: string[];
  maxTokens?: number;
}

export interface RepoMap {
  text: string;
  tokens: number;
  totalFiles: number;
  /** Files shown with their symbols, in rank order. */
  files: string[];
}

const STOP = new Set(
  "the and for with that this from into when then than each have has are was were will should must not but can all any its use using used new add fix make made also only more most other some such what which while who why how does did done there their them they these those about after before over under onto been being our your you may might would could shall issue tests test file files code line lines run runs".split(
    " ",
  ),
);

/** The task's searchable terms: code-looking identifiers first (backticked, camelCase, snake_case, dotted), then long words. */
export function taskTerms(task: string): string[] {
  const words = task.match(/[A-Za-z_][A-Za-z0-9_]{2,}/g) ?? [];
  const code = new Set((task.match(/`([^`\n]{2,80})`/g) ?? []).flatMap((s) => s.slice(1, -1).match(/[A-Za-z_][A-Za-z0-9_]{2,}/g) ?? []));
  const scored = new Map<string, number>();
  for (const word of words) {
    const lower = word.toLowerCase();
    if (STOP.has(lower) || /^\d/.test(word)) continue;
    const codeish = code.has(word) || /[a-z][A-Z]|_/.test(word) ? 10 : 0;
    scored.set(lower, Math.max(scored.get(lower) ?? 0, codeish + Math.min(word.length, 12) / 12));
  }
  return [...scored.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, MAX_TERMS)
    .map(([term]) => term);
}

/** Repository-relative paths the task names, e.g. `src/llm/budget.ts`. */
function mentionedPaths(task: string, files: Set<string>): string[] {
  const candidates = task.match(/[\w.@-]+(?:\/[\w.@-]+)+|[\w-]+\.[a-z]{1,5}\b/g) ?? [];
  const out = new Set<string>();
  for (const c of candidates) {
    const clean = c.replace(/^\.\//, "");
    if (files.has(clean)) out.add(clean);
  }
  return [...out];
}

async function git(dir: string, args: string[]): Promise<string> {
  try {
    return await hostGitOutput(dir, args, { timeoutMs: 60_000, maxBuffer: 256 * 1024 * 1024 });
  } catch (error) {
    const e = error as { code?: number; stderr?: string };
    if (e.code === 1 && !e.stderr) return ""; // git grep: no match
    throw new Error(`git ${args[0]} failed: ${String(e.stderr ?? error).split("\n")[0]}`);
  }
}

export async function rankFiles(dir: string, task: string, focus: string[] = []): Promise<{ ranked: string[]; total: number }> {
  const files = (await git(dir, ["ls-files", "-z"])).split("\0").filter(Boolean);
  const all = new Set(files);
  const terms = taskTerms(task);
  const score = new Map<string, number>();
  const add = (file: string, s: number) => score.set(file, (score.get(file) ?? 0) + s);

  // one git grep per term, two at a time: which files contain it (binary files skipped)
  const hits: { term: string; files: string[] }[] = [];
  for (let i = 0; i < terms.length; i += 2) {
    const batch = terms.slice(i, i + 2);
    hits.push(
      ...(await Promise.all(
        batch.map(async (term) => ({
          term,
          files: (await git(dir, ["grep", "-I", "-l", "-i", "-F", "-z", "-e", term])).split("\0").filter(Boolean),
        })),
      )),
    );
  }
  for (const { term, files: matched } of hits) {
    const idf = Math.log((files.length + 1) / (matched.length + 1)) + 0.1;
    for (const file of matched) add(file, idf);
    for (const file of files) if (file.toLowerCase().includes(term)) add(file, 2 * idf);
  }
  for (const file of mentionedPaths(task, all)) add(file, 100);
  for (const file of focus) if (all.has(file)) add(file, 200);

  const depth = (f: string) => f.split("/").length;
  const ranked = [...files].sort((a, b) => {
    const d = (score.get(b) ?? 0) - (score.get(a) ?? 0);
    if (d !== 0) return d;
    const g = Number(Boolean(grammarFor(b))) - Number(Boolean(grammarFor(a)));
    if (g !== 0) return g;
    return depth(a) - depth(b) || a.localeCompare(b);
  });
  return { ranked, total: files.length };
}

function renderFile(file: string, symbols: SourceSymbol[] | undefined): string {
  if (!symbols?.length) return file;
  const shown = symbols.slice(0, MAX_SYMBOLS_PER_FILE);
  const lines = shown.map((s) => `${"  ".repeat(s.depth + 1)}${String(s.line).padStart(4)}: ${s.signature || `${s.kind} ${s.name}`}`);
  if (symbols.length > shown.length) lines.push(`  … ${symbols.length - shown.length} more symbols`);
  return [file, ...lines].join("\n");
}

/** A file's symbols, read through the agents' path policy: a symlink that leads out is never read. */
async function symbolsFor(policy: PathPolicy, file: string): Promise<SourceSymbol[] | undefined> {
  if (!grammarFor(file)) return undefined;
  let full: string;
  try {
    full = (await policy.resolve(file, "read")).abs;
  } catch (error) {
    if (error instanceof PathRefused) return undefined;
    throw error;
  }
  const info = await stat(full).catch(() => undefined);
  if (!info?.isFile() || info.size > MAX_PARSE_BYTES) return undefined;
  const source = await readFile(full, "utf8");
  return symbolsOf(file, source).catch(() => undefined);
}

export async function buildRepoMap(options: RepoMapOptions): Promise<RepoMap> {
  const budget = options.maxTokens ?? DEFAULT_MAP_TOKENS;
  const { ranked, total } = await rankFiles(options.dir, options.task, options.focus);
  const policy = await PathPolicy.create(options.dir, []);
  const header = `Repository map: ${total.toLocaleString("en-US")} tracked files. The files most relevant to the task come first, each with its top-level symbols (line: first line of the definition).`;
  const blocks: string[] = [];
  const files: string[] = [];
  let used = approxTokens(header) + 30; // the closing line
  for (const file of ranked) {
    if (used >= budget) break;
    let block = renderFile(file, await symbolsFor(policy, file));
    let cost = approxTokens(block) + 1;
    if (used + cost > budget) {
      // the symbols do not fit: the path alone may
      block = file;
      cost = approxTokens(block) + 1;
      if (used + cost > budget) break;
    }
    blocks.push(block);
    files.push(file);
    used += cost;
  }
  const rest = total - files.length;
  const footer =
    rest > 0
      ? `(${rest.toLocaleString("en-US")} more files not shown: use list_files and search to find them.)`
      : "(All tracked files are shown.)";
  const text = [header, "", ...blocks, "", footer].join("\n");
  return { text, tokens: approxTokens(text), totalFiles: total, files };
}
