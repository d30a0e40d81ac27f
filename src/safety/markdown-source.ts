/**
 * markdown-it's reading of a markdown document, with source offsets for what `sanitize()`
 * (src/github/sanitize.ts) edits: reference definitions, code, raw HTML, images and link titles.
 * markdown-it gives block tokens line maps but inline tokens no positions, so the inline rules
 * that matter are wrapped to note where they matched, and each inline token's content is mapped
 * back onto its source lines.
 */
import MarkdownIt from "markdown-it";
import type { StateCore, StateInline, Token } from "markdown-it";
import { htmlPiece, htmlPieces, type HtmlPiece } from "./html-tags.js";

export interface SourceMap {
  /** The text parsed: line breaks made `\n` and NUL made U+FFFD, as markdown-it does first. */
  src: string;
  /** Link reference definitions (and footnote definitions, which markdown-it reads as such). */
  references: Range[];
  /** Code blocks and code spans: GitHub shows what is in them as it is. */
  code: Range[];
  /** Raw HTML, in document order. */
  html: HtmlPiece[];
  /** Images (the whole `![alt](url "title")` or `![alt][ref]`) and their URL. */
  images: (Range & { href: string })[];
  /** The `(url "title")` part of inline links that have a title, and the URL. */
  linkTitles: (Range & { href: string })[];
  /** Inline content that could not be placed in the source: treated as unreadable. */
  unplaced: Range[];
}

export interface Range {
  start: number;
  end: number;
}

interface Noted {
  kind: "html" | "code" | "image" | "linkTitle";
  start: number;
  end: number;
  token?: Token;
}

interface Env {
  noting?: { src: string; notes: Noted[] };
}

type InlineRule = (state: StateInline, silent: boolean) => boolean;

function noting(rule: InlineRule, kind: Noted["kind"]): InlineRule {
  return (state, silent) => {
    const start = state.pos;
    const env = state.env as Env;
    // a nested parse (an image's alt text) has its own source: positions in it mean nothing here
    const top = env.noting && env.noting.src === state.src && !silent ? env.noting : undefined;
    const before = state.tokens.length;
    const labelEnd =
      top && kind === "linkTitle" && state.src.charCodeAt(start) === 0x5b ? state.md.helpers.parseLinkLabel(state, start, true) : -1;
    if (!rule(state, silent)) return false;
    if (!top) return true;
    if (kind === "linkTitle") {
      const open = state.tokens.slice(before).find((t) => t.type === "link_open");
      if (open && open.attrGet("title") !== null && state.src[labelEnd + 1] === "(")
        top.notes.push({ kind, start: labelEnd + 1, end: state.pos, token: open });
    } else top.notes.push({ kind, start, end: state.pos, token: state.tokens.slice(before).find((t) => t.type === "image") });
    return true;
  };
}

const md = new MarkdownIt("default", { html: true, linkify: false });
md.core.ruler.disable(["strip_references", "linkify", "replacements", "smartquotes", "text_join"]);
for (const [name, kind] of [
  ["html_inline", "html"],
  ["backticks", "code"],
  ["image", "image"],
  ["link", "linkTitle"],
] as const) {
  const rules = (md.inline.ruler as unknown as { __rules__: { name: string; fn: InlineRule }[] }).__rules__;
  const rule = rules.find((r) => r.name === name)?.fn;
  if (!rule) throw new Error(`markdown-it has no inline rule ${name}`);
  md.inline.ruler.at(name, noting(rule, kind));
}
md.core.ruler.at("inline", (state: StateCore) => {
  const env = state.env as Env;
  for (const token of state.tokens) {
    if (token.type !== "inline") continue;
    env.noting = { src: token.content, notes: [] };
    state.md.inline.parse(token.content, state.md, state.env, token.children ?? (token.children = []));
    token.meta = { notes: env.noting.notes };
  }
  env.noting = undefined;
});

export function parseSource(text: string): SourceMap {
  const src = text.replace(/\r\n?/g, "\n").replace(/\0/g, "\uFFFD");
  const lines = src.split("\n");
  const lineStart: number[] = [];
  for (let i = 0, at = 0; i < lines.length; at += lines[i]!.length + 1, i++) lineStart.push(at);
  const lineRange = (map: [number, number]): Range => ({
    start: lineStart[map[0]]!,
    end: map[1] < lines.length ? lineStart[map[1]]! : src.length,
  });

  const out: SourceMap = { src, references: [], code: [], html: [], images: [], linkTitles: [], unplaced: [] };
  const tokens = md.parse(src, {});
  const cursor = new Map<number, number>(); // per line, where the next table cell is looked for
  let row: [number, number] | null = null; // a table cell's inline token has no map: its row's
  for (const token of tokens) {
    if (token.type === "tr_open") row = token.map;
    if (token.type === "inline" && !token.map && row) token.map = row;
    if (!token.map) continue;
    if (token.type === "reference_definition") out.references.push(lineRange(token.map));
    else if (token.type === "fence" || token.type === "code_block") out.code.push(lineRange(token.map));
    else if (token.type === "html_block") {
      const place = placeContent(token.content.replace(/\n$/, ""), token.map, lines, lineStart, cursor);
      if (!place) {
        out.unplaced.push(lineRange(token.map));
        continue;
      }
      for (const piece of htmlPieces(token.content)) {
        const start = place(piece.start);
        const end = piece.end === Number.POSITIVE_INFINITY ? src.length : place(piece.end - 1) + 1;
        out.html.push({ ...piece, start, end });
      }
    } else if (token.type === "inline") {
      const notes = (token.meta as { notes?: Noted[] } | null)?.notes ?? [];
      if (!notes.length) continue;
      const place = placeContent(token.content, token.map, lines, lineStart, cursor);
      if (!place) {
        out.unplaced.push(lineRange(token.map));
        continue;
      }
      for (const note of notes) {
        const range = { start: place(note.start), end: place(note.end - 1) + 1 };
        if (note.kind === "code") out.code.push(range);
        else if (note.kind === "html") out.html.push(htmlPiece(src.slice(range.start, range.end), range.start));
        else {
          const href = String(note.token?.attrGet(note.kind === "image" ? "src" : "href") ?? "");
          (note.kind === "image" ? out.images : out.linkTitles).push({ ...range, href });
        }
      }
    }
  }
  out.html.sort((a, b) => a.start - b.start);
  return out;
}

/**
 * Where each offset of a block's content lies in the source. Each content line is its source line
 * less a prefix (indentation, container markers, a heading's `#`s) and perhaps trailing space; a
 * table cell or heading is looked for in its line. Undefined when a line cannot be placed.
 */
function placeContent(
  content: string,
  map: [number, number],
  lines: string[],
  lineStart: number[],
  cursor: Map<number, number>,
): ((offset: number) => number) | undefined {
  const contentLines = content.split("\n");
  if (contentLines.length > map[1] - map[0]) return undefined;
  // where content line k starts in the source, less its leading white space in the content
  const bases: number[] = [];
  const starts: number[] = [];
  for (let k = 0, at = 0; k < contentLines.length; at += contentLines[k]!.length + 1, k++) {
    const line = contentLines[k]!;
    const source = lines[map[0] + k]!;
    const bare = line.trimStart();
    const lead = line.length - bare.length;
    let col: number;
    if (source.endsWith(bare)) col = source.length - bare.length;
    else if (source.trimEnd().endsWith(bare)) col = source.trimEnd().length - bare.length;
    else {
      col = source.indexOf(bare, cursor.get(map[0] + k) ?? 0);
      if (col < 0 || !bare) return undefined;
    }
    cursor.set(map[0] + k, col + bare.length);
    bases.push(lineStart[map[0] + k]! + col - lead);
    starts.push(at);
  }
  return (offset) => {
    let k = starts.length - 1;
    while (k > 0 && starts[k]! > offset) k--;
    return bases[k]! + (offset - starts[k]!);
  };
}
