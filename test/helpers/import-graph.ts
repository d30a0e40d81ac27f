/**
 * The import graph of src/, read without a compiler (loading TypeScript alone takes longer than
 * this whole check should): a small tokenizer that knows comments, strings, template literals
 * and regular expressions, so that an `import` in a comment or a string is not taken for one.
 * Each import says whether it is type-only, i.e. erased from the JavaScript (`import type`,
 * `export type … from`, `import("…").T` in a type); with `verbatimModuleSyntax`,
 * `import { type A }` stays as `import {} from` and so is not.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";

export interface Import {
  /** Both paths are relative to the repository, with forward slashes: `src/llm/budget.ts`. */
  from: string;
  to: string;
  typeOnly: boolean;
}

export interface Specifier {
  specifier: string;
  typeOnly: boolean;
}

interface Token {
  kind: "word" | "punct" | "string";
  value: string;
}

/** After these, a `/` starts a regular expression rather than a division. */
const BEFORE_REGEX_WORDS = new Set([
  "return",
  "typeof",
  "case",
  "do",
  "else",
  "in",
  "of",
  "new",
  "delete",
  "void",
  "throw",
  "yield",
  "await",
]);
const BEFORE_REGEX_PUNCT = new Set([..."(,=:[!&|?{};+-*%<>~^"]);
const WORD = /[\w$\u0080-\uffff]/;
const WORDS = /[\w$\u0080-\uffff]+/y;
const SPACES = /\s+/y;

/** The tokens of `text` that matter for imports; template literals' text is dropped, their `${}` kept. */
export function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  const braces: Array<"brace" | "template"> = [];
  let i = 0;
  const regexAllowed = () => {
    const last = tokens.at(-1);
    return (
      !last || (last.kind === "punct" && BEFORE_REGEX_PUNCT.has(last.value)) || (last.kind === "word" && BEFORE_REGEX_WORDS.has(last.value))
    );
  };
  /** Skips a template literal's text from `i` up to its end or its next `${`. */
  const templateText = () => {
    while (i < text.length) {
      const c = text[i]!;
      if (c === "\\") i += 2;
      else if (c === "`") return void i++;
      else if (c === "$" && text[i + 1] === "{") {
        braces.push("template");
        tokens.push({ kind: "punct", value: "(" }); // an expression starts: a `/` there is a regex
        return void (i += 2);
      } else i++;
    }
  };
  while (i < text.length) {
    const c = text[i]!;
    const next = text[i + 1];
    if (c === " " || c === "\n" || c === "\t" || c === "\r") {
      SPACES.lastIndex = i;
      SPACES.test(text);
      i = SPACES.lastIndex;
    } else if (c === "/" && next === "/") i = text.indexOf("\n", i) === -1 ? text.length : text.indexOf("\n", i);
    else if (c === "/" && next === "*") i = text.indexOf("*/", i + 2) === -1 ? text.length : text.indexOf("*/", i + 2) + 2;
    else if (c === '"' || c === "'") {
      let j = i + 1;
      while (j < text.length && text[j] !== c && text[j] !== "\n") j += text[j] === "\\" ? 2 : 1;
      tokens.push({ kind: "string", value: text.slice(i + 1, j) }); // escapes kept: no specifier has one
      i = j + 1;
    } else if (c === "`") {
      tokens.push({ kind: "string", value: "" });
      i++;
      templateText();
    } else if (c === "/" && regexAllowed()) {
      let j = i + 1;
      let inClass = false;
      while (j < text.length && text[j] !== "\n" && (inClass || text[j] !== "/")) {
        if (text[j] === "\\") j++;
        else if (text[j] === "[") inClass = true;
        else if (text[j] === "]") inClass = false;
        j++;
      }
      i = j + 1;
      while (i < text.length && /[a-z]/.test(text[i]!)) i++;
      tokens.push({ kind: "string", value: "" });
    } else if (WORD.test(c)) {
      WORDS.lastIndex = i;
      WORDS.test(text);
      tokens.push({ kind: "word", value: text.slice(i, WORDS.lastIndex) });
      i = WORDS.lastIndex;
    } else {
      if (c === "{") braces.push("brace");
      if (c === "}" && braces.pop() === "template") {
        tokens.push({ kind: "string", value: "" });
        i++;
        templateText();
        continue;
      }
      tokens.push({ kind: "punct", value: c });
      i++;
    }
  }
  return tokens;
}

const is = (t: Token | undefined, kind: Token["kind"], value?: string) =>
  t !== undefined && t.kind === kind && (value === undefined || t.value === value);

/** The first `from "…"` at or after `start`, within one statement. */
function fromClause(tokens: Token[], start: number): string | undefined {
  for (let j = start; j < tokens.length && !is(tokens[j], "punct", ";"); j++)
    if (is(tokens[j], "word", "from") && is(tokens[j + 1], "string")) return tokens[j + 1]!.value;
  return undefined;
}

/** Every module `text` imports or re-exports from, statically or with `import()`. */
export function specifiersOf(text: string): Specifier[] {
  const tokens = tokenize(text);
  const out: Specifier[] = [];
  tokens.forEach((t, i) => {
    const [prev, next, after] = [tokens[i - 1], tokens[i + 1], tokens[i + 2]];
    if (t.kind !== "word" || is(prev, "punct", ".")) return;
    if (t.value === "import" && is(next, "punct", "(") && is(after, "string") && is(tokens[i + 3], "punct", ")")) {
      // `import("x").T` or `typeof import("x")` is a type; a promise's members are then/catch/finally
      const member = is(tokens[i + 4], "punct", ".") ? tokens[i + 5]?.value : undefined;
      const inType = is(prev, "word", "typeof") || (member !== undefined && !["then", "catch", "finally"].includes(member));
      out.push({ specifier: after!.value, typeOnly: inType });
    } else if (t.value === "import" && is(next, "string")) {
      out.push({ specifier: next!.value, typeOnly: false });
    } else if (t.value === "import" && (next?.kind === "word" || is(next, "punct", "{") || is(next, "punct", "*"))) {
      const specifier = fromClause(tokens, i + 1);
      const typeOnly = is(next, "word", "type") && !is(after, "word", "from") && !is(after, "punct", ",");
      if (specifier !== undefined) out.push({ specifier, typeOnly });
    } else if (t.value === "export") {
      const typeOnly = is(next, "word", "type");
      const opener = typeOnly ? after : next;
      if (!is(opener, "punct", "{") && !is(opener, "punct", "*")) return;
      const specifier = fromClause(tokens, i + 1);
      if (specifier !== undefined) out.push({ specifier, typeOnly });
    }
  });
  return out;
}

/** Every `.ts` file under `dir` (relative to `root`), with forward slashes. */
export function sourceFiles(root: string, dir: string): string[] {
  return readdirSync(path.join(root, dir), { recursive: true, encoding: "utf8" })
    .filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts"))
    .map((f) => path.posix.join(dir, f.split(path.sep).join("/")))
    .sort();
}

/**
 * The imports between the files of `dir`: relative specifiers resolved as Node does with
 * TypeScript's `.js` → `.ts`. Packages, `node:` modules and non-code files (JSON) are left out;
 * a relative import of a file that does not exist is returned in `unresolved`.
 */
export function importGraph(root: string, dir = "src"): { files: string[]; imports: Import[]; unresolved: string[] } {
  const files = sourceFiles(root, dir);
  const imports: Import[] = [];
  const unresolved: string[] = [];
  for (const from of files) {
    for (const { specifier, typeOnly } of specifiersOf(readFileSync(path.join(root, from), "utf8"))) {
      if (!specifier.startsWith(".")) continue;
      const target = path.posix.join(path.posix.dirname(from), specifier);
      const to = target.replace(/\.js$/, ".ts");
      if (to.endsWith(".ts") && existsSync(path.join(root, to))) imports.push({ from, to, typeOnly });
      else if (!existsSync(path.join(root, target))) unresolved.push(`${from} → ${specifier}`);
    }
  }
  return { files, imports, unresolved };
}

/** `src/pipeline/phase.ts` → `pipeline`; a file at the top, `src/errors.ts` → `errors.ts`. */
export function folderOf(file: string, dir = "src"): string {
  return path.posix.relative(dir, file).split("/")[0]!;
}

/** Each import that breaks `rules` (folder → the folders it must not import), as `from → to`, sorted. */
export function layerViolations(imports: Import[], rules: Record<string, readonly string[]>, dir = "src"): string[] {
  return imports
    .filter(({ from, to }) => {
      const [a, b] = [folderOf(from, dir), folderOf(to, dir)];
      return a !== b && (rules[a]?.includes(b) ?? false);
    })
    .map(({ from, to }) => `${from} → ${to}`)
    .sort();
}

/**
 * The strongly connected components of more than one node (or a node importing itself), by
 * Tarjan's algorithm: each is a set of nodes every one of which reaches every other. Sorted, so
 * that a failure reads the same every time.
 */
export function cycles(edges: ReadonlyArray<readonly [string, string]>): string[][] {
  const next = new Map<string, string[]>();
  for (const [a, b] of edges) {
    next.set(a, [...(next.get(a) ?? []), b]);
    if (!next.has(b)) next.set(b, []);
  }
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string) => {
    index.set(v, index.size);
    low.set(v, index.get(v)!);
    stack.push(v);
    onStack.add(v);
    for (const w of next.get(v)!) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) !== index.get(v)) return;
    const component: string[] = [];
    let w: string;
    do {
      w = stack.pop()!;
      onStack.delete(w);
      component.push(w);
    } while (w !== v);
    if (component.length > 1 || next.get(v)!.includes(v)) found.push(component.sort());
  };
  for (const v of [...next.keys()].sort()) if (!index.has(v)) visit(v);
  return found.sort((a, b) => a[0]!.localeCompare(b[0]!));
}

/** Cycles between files, type-only imports included. */
export function fileCycles(imports: Import[]): string[][] {
  return cycles(imports.map(({ from, to }) => [from, to] as const));
}

/**
 * Cycles between folders through imports that stay in the JavaScript, each with the imports
 * that close it (`from → to`), so a failure says which lines to move.
 */
export function folderCycles(imports: Import[], dir = "src"): Array<{ folders: string[]; imports: string[] }> {
  const runtime = imports.filter((i) => !i.typeOnly && folderOf(i.from, dir) !== folderOf(i.to, dir));
  return cycles(runtime.map(({ from, to }) => [folderOf(from, dir), folderOf(to, dir)] as const)).map((folders) => ({
    folders,
    imports: runtime
      .filter((i) => folders.includes(folderOf(i.from, dir)) && folders.includes(folderOf(i.to, dir)))
      .map(({ from, to }) => `${from} → ${to}`)
      .sort(),
  }));
}
