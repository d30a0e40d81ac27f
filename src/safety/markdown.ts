/**
 * Model-written markdown about to be posted (PR bodies, comments, review-thread replies):
 * - `neutralizeMarkdown`: it cannot ping anyone, close an issue other than the run's own, load a
 *   remote image or carry raw HTML (text Tollgate writes itself may mention people on purpose);
 * - `forGitHub`: neutralised and its secrets masked (src/safety/secrets.ts).
 * What is code, raw HTML, an image or a link is markdown-it's reading of the text
 * (src/safety/markdown-source.ts); only the text outside code is edited, in place.
 */
import type { HtmlPiece } from "./html-tags.js";
import { parseSource, normalizeSource, type Range, type SourceMap } from "./markdown-source.js";
import {
  alnumEntity,
  atEntity,
  closingKeywords,
  DROP_CONTENT,
  isCodeTag,
  mentionName,
  placeholder,
  tagReplacement,
  validComment,
  wrapMention,
} from "./replacements.js";
import { maskSecrets } from "./secrets.js";

export interface NeutralizeOptions {
  /** The issue this text may close (`Closes #7`); closing keywords aimed at anything else are defused. */
  allowIssue?: number;
}

/** Passes before giving up and posting the text as a code block (never seen: at most three edit, a fourth finds nothing). */
const MAX_PASSES = 8;

/**
 * Makes model-written markdown safe to post:
 * - `@user` and `@org/team` mentions are wrapped in inline code (`` `@user` ``, or `<code>` in raw
 *   HTML or next to a backtick), so nobody is pinged; emails (`a@b.com`) are left alone, and in a
 *   URL the `@` becomes `%40` (`https://www.npmjs.com/package/%40types/node` still works);
 * - closing keywords (`fixes #12`, `Closes owner/repo#3`, `resolved GH-4`, `fixed https://…/issues/5`,
 *   `**Fixes** #3`) become `refs …`, but for `#allowIssue`;
 * - images (`![alt](url)`, reference-style `![alt][ref]`, `<img>`, `<source>`, `<video>`, `<audio>`,
 *   `<iframe>`, `<embed>`, `<object>`) become `(image removed: host)` (`video`, `embedded page`…),
 *   which keeps nothing of the URL but its host;
 * - raw HTML tags are removed, but for `details`, `summary`, `br`, `sub`, `sup`, `kbd`, `code`,
 *   `b`, `i`, `em`, `strong` (without attributes, but for `<details open>`); `<script>`, `<style>`
 *   and the like go with their content; `<pre>` is not kept, since markdown is not parsed inside it
 *   (a fence does the same job); a `<` that starts no tag becomes `&lt;`; comments stay (hidden);
 * - code (fences, indented blocks, code spans) is left as it is: nothing in it pings, closes or loads;
 * - in a link reference definition (not shown; its title is an attribute) a mention's `@` becomes
 *   `%40`, as in text markdown-it does not show (a table row's extra cells) or could not place.
 *
 * What is which is markdown-it's reading (CommonMark, as GitHub's cmark-gfm). Where the two may
 * differ the output is made unambiguous rather than trusted to either: a backtick that opens no code
 * span is escaped, an unclosed fence is closed, a comment cmark would show (`<!-- a -- b -->`) or
 * an unterminated one is made text, a code span that starts inside a bare URL (which GitHub's
 * autolinking would take, backticks and all) is made text, and what GitHub would read as a
 * footnote (`[^1]: …`, which markdown-it does not know) is escaped into a paragraph; a mention or
 * closing keyword spelt with entities (`@&#97;dmin`) is written out and then seen as such.
 *
 * Idempotent: the pass runs until nothing changes (removing a tag can make a new construct appear,
 * `<im<x>g …>`); should it not settle, the text is posted as a code block, inert whatever it holds.
 */
export function neutralizeMarkdown(text: string, opts: NeutralizeOptions = {}): string {
  let out = normalizeSource(text);
  for (let pass = 0; pass < MAX_PASSES; pass++) {
    const next = neutralizePass(out, opts);
    if (next === out) return out;
    out = next;
  }
  return asCodeBlock(normalizeSource(text));
}

/** Model-written markdown about to be posted: neutralised, then masked (and made whole again). */
export function forGitHub(text: string, opts: NeutralizeOptions = {}): string {
  // masking a span can remove part of a construct (a fence inside a private key): neutralise again
  return neutralizeMarkdown(maskSecrets(neutralizeMarkdown(text, opts)), opts);
}

function asCodeBlock(text: string): string {
  const longest = (text.match(/`+/g) ?? []).reduce((n, run) => Math.max(n, run.length), 2);
  const fence = "`".repeat(longest + 1);
  return `${fence}text\n${text}\n${fence}`;
}

/** One pass: the text read with markdown-it, its edits found, and applied from the end backwards. */
function neutralizePass(text: string, opts: NeutralizeOptions): string {
  const doc = parseSource(text);
  // markdown-it read inline content that could not be placed: its code and HTML are not known
  if (doc.unplaced.length) return asCodeBlock(doc.src);
  const edits = neutralizeEdits(doc, opts.allowIssue);
  return applyEdits(doc.src, edits) ?? asCodeBlock(doc.src);
}

/**
 * Applies non-overlapping edits from the end of `src` backwards (an insertion before a
 * replacement at the same place). Undefined should two overlap: the edits were not what this
 * module meant, and the caller falls back to a code block.
 */
function applyEdits(src: string, edits: Edit[]): string | undefined {
  if (!edits.length) return src;
  const sorted = [...edits].sort((a, b) => b.start - a.start || b.end - a.end);
  const parts: string[] = [];
  let until = src.length;
  for (const edit of sorted) {
    if (edit.end > until) return undefined;
    parts.push(src.slice(edit.end, until), edit.text);
    until = edit.start;
  }
  parts.push(src.slice(0, until));
  return parts.reverse().join("");
}

// ---------------------------------------------------------------------------------------------
// The edits of one pass, found on markdown-it's reading of the text: each character of the text
// is classed (markdown text, raw-HTML text, a reference definition, or no text at all: code, a
// tag, an image, an autolink, a link's destination), and only text is edited.

export interface Edit extends Range {
  text: string;
}

// What a character of the text is, as bits of `Flags`.
/** In inline content (a paragraph, heading or table cell): markdown text, as markdown-it read it. */
const INLINE = 1;
/** In an HTML block: raw HTML, where markdown (code spans, backslash escapes) is not read. */
const HTML = 2;
/** In a link reference definition: not shown, but what GitHub reads as a footnote is. */
const DEFINITION = 4;
/** In inline content that could not be placed: its code, HTML and images are not known. */
const UNPLACED = 8;
/** Not text: code, a tag or comment, an image, an autolink, a link's destination. */
const SKIP = 16;
/** Not looked at for closing keywords either: code, and what is replaced or removed. */
const FROZEN = 32;
/** In what goes whole with its content (`<script>…</script>`). */
const REMOVED = 64;
/** Between `<code>` and `</code>` in one block: a mention does not ping there. */
const IN_CODE = 128;
/** In a bare URL as GitHub's autolinking takes one (from `https://` or `www.` to a space or `<`). */
const URL = 256;
/** Part of a mention already edited. */
const MENTION = 512;

type Flags = Uint16Array;

/**
 * How text is edited where it is: `markdown` (as markdown-it read it: a mention wrapped in a code
 * span), `html` (raw HTML: in `<code>`), `plain` (a definition, the text of a block markdown-it
 * does not show, or content it could not place: no markup is trusted or added, a mention's `@`
 * becomes `%40`).
 */
type Mode = "markdown" | "html" | "definition" | "plain";

function modeOf(f: number): Mode {
  if (f & HTML) return "html";
  if (f & DEFINITION) return "definition";
  return f & INLINE && !(f & UNPLACED) ? "markdown" : "plain";
}

function mark(flags: Flags, range: Range, bits: number): void {
  for (let i = range.start; i < range.end; i++) flags[i]! |= bits;
}

function anyFlag(flags: Flags, range: Range, bits: number): boolean {
  for (let i = range.start; i < range.end; i++) if (flags[i]! & bits) return true;
  return false;
}

/** The edits for one pass, in no particular order; they do not overlap. */
export function neutralizeEdits(doc: SourceMap, allowIssue: number | undefined): Edit[] {
  const { src } = doc;
  const flags: Flags = new Uint16Array(src.length + 1);
  const edits: Edit[] = [];
  for (const range of doc.inline) mark(flags, range, INLINE);
  for (const range of doc.htmlBlocks) mark(flags, range, HTML);
  for (const range of doc.references) mark(flags, range, DEFINITION);
  // what was read in an unplaced block's lines (another cell of its row) is not trusted either
  for (const range of doc.unplaced) mark(flags, range, UNPLACED);
  const placed = (range: Range) => !(flags[range.start]! & UNPLACED);
  htmlEdits(doc, flags, edits);
  for (const range of doc.code.filter(placed)) mark(flags, range, SKIP | FROZEN);
  for (const range of [...doc.autolinks, ...doc.linkDestinations].filter(placed)) mark(flags, range, SKIP);
  for (const image of doc.images.filter(placed)) {
    if (flags[image.start]! & REMOVED) continue;
    edits.push({ start: image.start, end: image.end, text: placeholder("image", image.href) });
    mark(flags, image, SKIP | FROZEN);
  }
  blockEdits(doc, flags, edits);
  urlEdits(doc, flags, edits);
  textEdits(src, flags, edits);
  for (const keyword of closingKeywords(src, allowIssue)) if (!anyFlag(flags, keyword, FROZEN | MENTION)) edits.push(keyword);
  return edits;
}

/**
 * Raw HTML, tag by tag in each block: allowed tags kept bare, media replaced by a placeholder,
 * `<script>`-like elements removed with their content (up to their matching end tag in the block),
 * other tags and declarations removed. A comment stays when GitHub would hide it too; otherwise
 * it is text (and its `<` is escaped as any other).
 */
function htmlEdits(doc: SourceMap, flags: Flags, edits: Edit[]): void {
  const pieces = doc.html;
  const partner = dropPartners(pieces);
  // an unterminated comment in an HTML block runs to the end of the text (as `sanitize` wants it)
  const blockEnd = new Map(doc.htmlBlocks.map((b) => [b.block, b.end]));
  let block: number | undefined;
  let open: number[] = []; // where the `<code>`s not yet closed in this block end
  const depth = new Int32Array(doc.src.length + 1); // +1 where a closed `<code>` pair's inside starts, -1 where it ends
  for (let j = 0; j < pieces.length; j++) {
    const piece = pieces[j]!;
    if (flags[piece.start]! & UNPLACED) continue;
    if (piece.block !== block) [block, open] = [piece.block, []];
    if (piece.kind === "comment") {
      const closed = piece.end <= (blockEnd.get(piece.block!) ?? piece.end);
      if (closed && validComment(doc.src.slice(piece.start, piece.end))) mark(flags, piece, SKIP); // (its keywords are still defused)
      continue;
    }
    const close = partner.get(j);
    if (close !== undefined) {
      const whole = { start: piece.start, end: pieces[close]!.end };
      edits.push({ ...whole, text: "" });
      mark(flags, whole, SKIP | FROZEN | REMOVED);
      j = close;
      continue;
    }
    const replacement = piece.kind === "other" ? "" : tagReplacement(piece);
    if (replacement !== doc.src.slice(piece.start, piece.end)) edits.push({ start: piece.start, end: piece.end, text: replacement });
    mark(flags, piece, SKIP | FROZEN);
    if (!isCodeTag(piece)) continue;
    if (piece.kind === "open") open.push(piece.end);
    else if (open.length) {
      depth[open.pop()!]!++;
      depth[piece.start]!--;
    }
  }
  for (let i = 0, inside = 0; i < doc.src.length; i++) if ((inside += depth[i]!) > 0) flags[i]! |= IN_CODE;
}

/** For each `<script>`-like open tag, the index of its end tag in the same block (by name, nesting counted). */
function dropPartners(pieces: HtmlPiece[]): Map<number, number> {
  const partner = new Map<number, number>();
  let open = new Map<string, number[]>();
  let block: number | undefined;
  for (const [j, piece] of pieces.entries()) {
    if (piece.block !== block) [block, open] = [piece.block, new Map()];
    if (!piece.name || !DROP_CONTENT.has(piece.name)) continue;
    const stack = open.get(piece.name) ?? [];
    open.set(piece.name, stack);
    if (piece.kind === "open") stack.push(j);
    else if (piece.kind === "close" && stack.length) partner.set(stack.pop()!, j);
  }
  return partner;
}

const URL_START = /(?:https?|ftp):\/\/|www\./gi;
const URL_REST = /[^\s<]*/y;

/**
 * Bare URLs in text, as far as GitHub's autolinking could take them (it reads them before code
 * spans, backticks included): their `@`s become `%40` (in `textEdits`), and a code span that
 * starts inside one is made text by escaping its backticks (what was in it is read next pass).
 */
function urlEdits(doc: SourceMap, flags: Flags, edits: Edit[]): void {
  const { src } = doc;
  const spans = [...doc.code].sort((a, b) => a.start - b.start);
  let k = 0;
  for (const m of src.matchAll(URL_START)) {
    const start = m.index;
    if (flags[start]! & (SKIP | URL)) continue;
    URL_REST.lastIndex = start;
    URL_REST.exec(src);
    const end = URL_REST.lastIndex;
    mark(flags, { start, end }, URL);
    if (modeOf(flags[start]!) !== "markdown") continue;
    while (k < spans.length && spans[k]!.start <= start) k++;
    for (; k < spans.length && spans[k]!.start < end; k++) {
      const span = spans[k]!;
      if (flags[span.start]! & (REMOVED | UNPLACED)) continue;
      const ticks = /^`+/.exec(src.slice(span.start, span.end))?.[0].length ?? 0;
      if (!ticks || span.end - span.start < 2 * ticks) continue;
      edits.push({ start: span.start, end: span.start + ticks, text: "\\`".repeat(ticks) });
      edits.push({ start: span.end - ticks, end: span.end, text: "\\`".repeat(ticks) });
    }
  }
}

const CANDIDATE = /[@&`<!]/g;
const ALNUM = /[A-Za-z0-9]/;

/**
 * In text: mentions wrapped (or their `@` made `%40`), a backtick that opens no code span escaped
 * (so that an inserted one cannot pair with it), a `<` that starts no tag made `&lt;`, and where
 * markdown-it's reading is not known, a `![` escaped too.
 */
function textEdits(src: string, flags: Flags, edits: Edit[]): void {
  let resume = 0;
  for (const m of src.matchAll(CANDIDATE)) {
    const i = m.index;
    const f = flags[i]!;
    if (i < resume || f & SKIP) continue;
    const mode = modeOf(f);
    const c = src[i];
    const escapable = mode === "markdown" || mode === "plain";
    if (c === "`" || (c === "!" && src[i + 1] === "[" && mode === "plain")) {
      if (escapable && !escaped(src, i)) edits.push({ start: i, end: i + 1, text: `\\${c}` });
    } else if (c === "<") {
      if (mode !== "definition" && !(mode === "markdown" && escaped(src, i))) edits.push({ start: i, end: i + 1, text: "&lt;" });
    } else if (c !== "!") {
      const edit = mentionEdit(src, i, flags, mode) ?? entityEdit(src, i, mode);
      if (!edit) continue;
      resume = edit.end;
      mark(flags, edit, MENTION);
      if (!(f & IN_CODE)) edits.push(edit);
    }
  }
}

/**
 * The mention that the `@` (or `\@`, or entity) at `i` makes, if it pings, and what replaces it.
 * After a letter or digit it is an email's and pings nobody. Backslash escapes and entities are
 * read as markdown reads them in markdown and definitions; in raw HTML (and where the reading is
 * not known) a backslash is a character of its own and an entity needs no `;`.
 */
function mentionEdit(src: string, i: number, flags: Flags, mode: Mode): Edit | undefined {
  const markdown = mode === "markdown" || mode === "definition";
  let start = i;
  let before: string | undefined;
  let nameAt: number;
  if (src[i] === "@") {
    const backslashes = markdown ? backslashesBefore(src, i) : 0;
    if (backslashes % 2) start = i - 1;
    before = backslashes === 0 ? src[i - 1] : backslashes === 1 ? src[i - 2] : "\\";
    nameAt = i + 1;
  } else {
    const length = !markdown || !escaped(src, i) ? atEntity(src, i, !markdown) : 0;
    if (!length) return undefined;
    before = src[i - 1];
    nameAt = i + length;
  }
  if (before !== undefined && ALNUM.test(before)) return undefined;
  const name = mentionName(src, nameAt, (j) => j >= src.length || (flags[j]! & SKIP) !== 0);
  if (!name) return undefined;
  const end = nameAt + name.length;
  if (flags[i]! & URL || mode === "definition" || mode === "plain") return { start, end: nameAt, text: "%40" };
  return { start, end, text: wrapMention(name, mode === "markdown" && src[start - 1] !== "`" && src[end] !== "`") };
}

/** A numeric entity for a letter or digit, written out (what it spells is read next pass). */
function entityEdit(src: string, i: number, mode: Mode): Edit | undefined {
  if (src[i] !== "&" || (mode === "markdown" && escaped(src, i))) return undefined;
  const entity = alnumEntity(src, i, mode === "html" || mode === "plain");
  return entity && { start: i, end: i + entity.length, text: entity.char };
}

function backslashesBefore(src: string, i: number): number {
  let n = 0;
  while (i - n - 1 >= 0 && src[i - n - 1] === "\\") n++;
  return n;
}

function escaped(src: string, i: number): boolean {
  return backslashesBefore(src, i) % 2 === 1;
}

const FOOTNOTE = /\[\^[^\]\n]+\]:/y;

/**
 * An unclosed fence is closed (after its last line that is not blank), so that it cannot take
 * what follows it once the text is part of a larger one; what GitHub would read as a footnote
 * definition (`[^1]: …`, which markdown-it reads as a paragraph or a link reference definition,
 * and whose indented continuation as code) is escaped into a paragraph.
 */
function blockEdits(doc: SourceMap, flags: Flags, edits: Edit[]): void {
  const { src } = doc;
  for (const fence of doc.fences) if (!fence.closed && !(flags[fence.start]! & REMOVED)) edits.push(fenceCloser(src, fence));
  for (const at of doc.paragraphs) if (footnote(src, at) && !(flags[at]! & REMOVED)) edits.push({ start: at, end: at, text: "\\" });
  for (const definition of doc.references) {
    const at = src.indexOf("[", definition.start);
    if (!footnote(src, at)) continue;
    edits.push({ start: at, end: at, text: "\\" });
    mark(flags, definition, SKIP); // (a paragraph next pass, read as one)
  }
}

function footnote(src: string, at: number): boolean {
  FOOTNOTE.lastIndex = at;
  return at >= 0 && FOOTNOTE.test(src);
}

function fenceCloser(src: string, fence: Range & { markup: string }): Edit {
  const lines = src.slice(fence.start, fence.end).split("\n");
  const opening = lines[0]!;
  // the closer goes in the fence's container: a list item's indentation, a blockquote's `>`s
  const prefix = opening.slice(0, opening.indexOf(fence.markup)).replace(/[^\s>]/g, " ");
  const quoted = prefix.includes(">");
  let last = lines.length - 1;
  while (last > 0 && (lines[last]!.trim() === "" || (quoted && /^[\s>]*$/.test(lines[last]!)))) last--;
  let at = fence.start;
  for (let j = 0; j <= last; j++) at += lines[j]!.length + 1;
  const closer = prefix + fence.markup;
  return at <= src.length ? { start: at, end: at, text: `${closer}\n` } : { start: src.length, end: src.length, text: `\n${closer}` };
}
