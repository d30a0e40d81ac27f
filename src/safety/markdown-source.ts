/**
 * markdown-it's reading of a markdown document, with source offsets for what `sanitize()`
 * (src/safety/sanitize.ts) and `neutralizeMarkdown()` (src/safety/markdown.ts) edit or leave
 * alone: reference definitions, code, raw HTML, images, links' destinations and autolinks.
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
  /** The `(url "title")` part of every inline link: no text a reader sees. */
  linkDestinations: Range[];
  /** Autolinks, whole (`<https://…>`, `<a@b.c>`). */
  autolinks: Range[];
  /** HTML blocks, whole lines: raw HTML, where markdown is not read (`block`: as in `HtmlPiece`). */
  htmlBlocks: (Range & { block: number })[];
  /** Fenced code blocks (also in `code`): their fence, and whether a closing fence ends them. */
  fences: (Range & { markup: string; closed: boolean })[];
  /** Where each paragraph's text starts (when it could be placed). */
  paragraphs: number[];
  /** Inline content (paragraphs, headings, table cells) as placed, line by line: what markdown-it reads as text. */
  inline: Range[];
  /** Inline content that could not be placed in the source: treated as unreadable. */
  unplaced: Range[];
}

export interface Range {
  start: number;
  end: number;
}

interface Noted {
  kind: "html" | "code" | "image" | "link" | "autolink";
  start: number;
  end: number;
  token?: Token;
}

interface Env {
  noting?: { src: string; notes: Noted[] };
}

type InlineRule = (state: StateInline, silent: boolean) => boolean;

const TOKEN_OF: Record<Noted["kind"], string> = {
  html: "html_inline",
  code: "code_inline",
  image: "image",
  link: "link_open",
  autolink: "link_open",
};

function noting(rule: InlineRule, kind: Noted["kind"]): InlineRule {
  return (state, silent) => {
    const start = state.pos;
    const env = state.env as Env;
    // a nested parse (an image's alt text) has its own source: positions in it mean nothing here
    const top = env.noting && env.noting.src === state.src && !silent ? env.noting : undefined;
    const before = state.tokens.length;
    if (!rule(state, silent)) return false;
    if (!top) return true;
    if (kind === "link") {
      // (a reference link, `[a][b]` or `[a]`, has no destination here)
      const open = state.tokens.slice(before).find((t) => t.type === "link_open");
      // (found again, now that the rule found it: markdown-it's cache makes it cheap)
      const labelEnd = open ? state.md.helpers.parseLinkLabel(state, start, true) : -1;
      if (open && state.src[labelEnd + 1] === "(" && state.pos > labelEnd + 1)
        top.notes.push({ kind, start: labelEnd + 1, end: state.pos, token: open });
    } else {
      const token = state.tokens.slice(before).find((t) => t.type === TOKEN_OF[kind]);
      // (a run of backticks that closes nowhere is text: the rule takes it all the same)
      if (token || kind !== "code") top.notes.push({ kind, start, end: state.pos, token });
    }
    return true;
  };
}

const md = new MarkdownIt("default", { html: true, linkify: false });
md.core.ruler.disable(["strip_references", "linkify", "replacements", "smartquotes", "text_join"]);
for (const [name, kind] of [
  ["html_inline", "html"],
  ["backticks", "code"],
  ["image", "image"],
  ["link", "link"],
  ["autolink", "autolink"],
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

/** Line breaks made `\n` and NUL made U+FFFD, as markdown-it does before it reads a text. */
export function normalizeSource(text: string): string {
  return text.replace(/\r\n?/g, "\n").replace(/\0/g, "\uFFFD");
}

export function parseSource(text: string): SourceMap {
  const src = normalizeSource(text);
  const lines = src.split("\n");
  const lineStart: number[] = [];
  for (let i = 0, at = 0; i < lines.length; at += lines[i]!.length + 1, i++) lineStart.push(at);
  const lineRange = (map: [number, number]): Range => ({
    start: lineStart[map[0]]!,
    end: map[1] < lines.length ? lineStart[map[1]]! : src.length,
  });

  const out: SourceMap = {
    src,
    references: [],
    code: [],
    html: [],
    images: [],
    linkTitles: [],
    linkDestinations: [],
    autolinks: [],
    htmlBlocks: [],
    fences: [],
    paragraphs: [],
    inline: [],
    unplaced: [],
  };
  const tokens = md.parse(src, {});
  const cursor = new Map<number, number>(); // per line, where the next table cell is looked for
  let row: [number, number] | null = null; // a table cell's inline token has no map: its row's
  for (const [block, token] of tokens.entries()) {
    if (token.type === "tr_open") row = token.map;
    const cell = token.type === "inline" && !token.map && row !== null;
    if (cell) token.map = row;
    if (!token.map) continue;
    if (token.type === "reference_definition") out.references.push(lineRange(token.map));
    else if (token.type === "fence" || token.type === "code_block") {
      out.code.push(lineRange(token.map));
      if (token.type === "fence") out.fences.push({ ...lineRange(token.map), markup: token.markup, closed: fenceClosed(token) });
    } else if (token.type === "html_block") {
      out.htmlBlocks.push({ ...lineRange(token.map), block });
      const place = placeContent(token.content.replace(/\n$/, ""), token.map, lines, lineStart, cursor, false, []);
      if (!place) {
        out.unplaced.push(lineRange(token.map));
        continue;
      }
      for (const piece of htmlPieces(token.content)) {
        const start = place(piece.start);
        const end = piece.end === Number.POSITIVE_INFINITY ? src.length : place(piece.end - 1) + 1;
        out.html.push({ ...piece, start, end, block });
      }
    } else if (token.type === "inline") {
      const notes = (token.meta as { notes?: Noted[] } | null)?.notes ?? [];
      const place = placeContent(token.content, token.map, lines, lineStart, cursor, cell, out.inline);
      if (!place) {
        if (notes.length) out.unplaced.push(lineRange(token.map));
        continue;
      }
      if (tokens[block - 1]?.type === "paragraph_open") out.paragraphs.push(place(0));
      for (const note of notes) noteInSource(out, note, { start: place(note.start), end: place(note.end - 1) + 1 }, block);
    }
  }
  out.html.sort((a, b) => a.start - b.start);
  return out;
}

function noteInSource(out: SourceMap, note: Noted, range: Range, block: number): void {
  if (note.kind === "code") out.code.push(range);
  else if (note.kind === "html") out.html.push({ ...htmlPiece(out.src.slice(range.start, range.end), range.start), block });
  else if (note.kind === "autolink") out.autolinks.push(range);
  else if (note.kind === "image") out.images.push({ ...range, href: String(note.token?.attrGet("src") ?? "") });
  else {
    out.linkDestinations.push(range);
    const title = note.token?.attrGet("title");
    if (title !== null && title !== undefined) out.linkTitles.push({ ...range, href: String(note.token?.attrGet("href") ?? "") });
  }
}

/** A fence's content has all its lines but the first and, when one closes it, the last. */
function fenceClosed(token: Token): boolean {
  const content = token.content;
  const contentLines = content === "" ? 0 : content.split("\n").length - (content.endsWith("\n") ? 1 : 0);
  return contentLines === token.map![1] - token.map![0] - 2;
}

/**
 * Where each offset of a block's content lies in the source. Each content line is its source line
 * less a prefix (indentation, container markers, a heading's `#`s) and perhaps trailing space; a
 * table cell or heading is looked for in its line (a cell's `\|` is `|` in its content).
 * Undefined when a line cannot be placed; each line placed is added to `placed`.
 */
function placeContent(
  content: string,
  map: [number, number],
  lines: string[],
  lineStart: number[],
  cursor: Map<number, number>,
  cell: boolean,
  placed: Range[],
): ((offset: number) => number) | undefined {
  const contentLines = content.split("\n");
  if (contentLines.length > map[1] - map[0]) return undefined;
  // where content line k starts in the source, less its leading white space in the content
  const bases: number[] = [];
  const starts: number[] = [];
  const pipes: number[][] = []; // per line, the content offsets of `|`s written `\|` in the source
  for (let k = 0, at = 0; k < contentLines.length; at += contentLines[k]!.length + 1, k++) {
    const line = contentLines[k]!;
    const source = lines[map[0] + k]!;
    const bare = line.trimStart();
    const lead = line.length - bare.length;
    const written = cell ? bare.replace(/\|/g, "\\|") : bare;
    let col: number;
    if (!cell && source.endsWith(bare)) col = source.length - bare.length;
    else if (!cell && source.trimEnd().endsWith(bare)) col = source.trimEnd().length - bare.length;
    else {
      col = source.indexOf(written, cursor.get(map[0] + k) ?? 0);
      if (col < 0 || !bare) return undefined;
    }
    cursor.set(map[0] + k, col + written.length);
    placed.push({ start: lineStart[map[0] + k]! + col, end: lineStart[map[0] + k]! + col + written.length });
    bases.push(lineStart[map[0] + k]! + col - lead);
    starts.push(at);
    pipes.push(cell ? [...bare.matchAll(/\|/g)].map((m) => at + lead + m.index) : []);
  }
  return (offset) => {
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return bases[lo]! + (offset - starts[lo]!) + countUpTo(pipes[lo]!, offset);
  };
}

/** How many of the ascending `values` are at most `x`. */
function countUpTo(values: number[], x: number): number {
  let lo = 0;
  let hi = values.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (values[mid]! <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
