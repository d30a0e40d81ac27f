/**
 * The one sanitizer for untrusted text (issue and comment bodies, titles, repo files) before it
 * reaches a prompt or is quoted back: what a human reader of the rendered issue cannot see is
 * removed, because that is where injected instructions hide, and anything shaped like a secret
 * is masked (with secrets.ts's rules, which also cover what Tollgate posts and stores).
 * Markdown stays markdown: the source is edited where it hides text, by markdown-it's reading of
 * its structure (markdown-source.ts), not rendered.
 */
import { hidesContent, UNSEEN_ATTRIBUTE, VOID_ELEMENTS, type HtmlPiece } from "./html-tags.js";
import { parseSource, type Range } from "./markdown-source.js";
import { maskSecretsCounted } from "./secrets.js";

/** Format characters (zero-width, bidi controls, tags, soft hyphen) render as nothing. */
const INVISIBLE = /[\p{Cf}\u115F\u1160\u3164\uFFA0]/gu;

export interface SanitizeResult {
  text: string;
  /** What was removed, for the log (never the removed text itself). */
  removed: string[];
}

type What =
  | "HTML comment(s)"
  | "invisible character(s)"
  | "hidden element(s)"
  | "hidden attribute(s)"
  | "link reference definition(s)"
  | "image alt text(s)"
  | "link title(s)"
  | "block(s) that could not be read";
const ORDER: What[] = [
  "HTML comment(s)",
  "invisible character(s)",
  "hidden element(s)",
  "hidden attribute(s)",
  "link reference definition(s)",
  "image alt text(s)",
  "link title(s)",
  "block(s) that could not be read",
];

interface Edit extends Range {
  replacement: string;
}

/**
 * What a reader of the rendered issue sees, as markdown, by markdown-it's reading of it (the
 * structure GitHub renders, CommonMark with GFM tables): removed are HTML comments (and a `<!--`
 * that never closes, to the end), link reference definitions, elements that hide their content
 * (`hidesContent`, src/safety/html-tags.ts) with everything up to their matching end tag (counted
 * by name, so nesting holds) or, unclosed, to the end of the text, attributes whose text is never
 * shown, image alt text and link titles. Code spans and blocks are kept as text: GitHub shows them.
 */
export function sanitize(input: string): SanitizeResult {
  const counts = new Map<What, number>();
  const count = (what: What, n = 1) => counts.set(what, (counts.get(what) ?? 0) + n);
  let text = input.normalize("NFC");
  text = text.replace(INVISIBLE, () => (count("invisible character(s)"), ""));

  const doc = parseSource(text);
  const edits: Edit[] = [];
  const drop = (range: Range, what: What) => {
    edits.push({ start: range.start, end: range.end, replacement: "" });
    count(what);
  };
  for (const range of doc.references) drop(range, "link reference definition(s)");
  for (const range of doc.unplaced) drop(range, "block(s) that could not be read");
  hiddenHtml(doc.src, doc.html, edits, count);
  for (const at of strayCommentOpeners(doc.src, doc.code, doc.html)) {
    const close = doc.src.indexOf("-->", at + 4);
    drop({ start: at, end: close < 0 ? doc.src.length : close + 3 }, "HTML comment(s)");
  }
  for (const image of doc.images) {
    const replacement = `![image](${image.href})`;
    if (doc.src.slice(image.start, image.end) === replacement) continue;
    edits.push({ ...image, replacement });
    count("image alt text(s)");
  }
  for (const link of doc.linkTitles) {
    edits.push({ ...link, replacement: `(${link.href})` });
    count("link title(s)");
  }
  text = applyEdits(doc.src, edits);

  const removed = ORDER.filter((what) => counts.get(what)).map((what) => `${counts.get(what)} ${what}`);
  const masked = maskSecretsCounted(text);
  for (const [mask, n] of masked.masks) removed.push(`${n} secret-shaped string(s) (${mask})`);
  return { text: masked.text, removed };
}

/** Comments and declarations go; a hiding element goes with all it holds; other tags lose unseen attributes. */
function hiddenHtml(src: string, pieces: HtmlPiece[], edits: Edit[], count: (what: What, n?: number) => void): void {
  for (let i = 0; i < pieces.length; i++) {
    const piece = pieces[i]!;
    if (piece.kind === "comment" || piece.kind === "other") {
      edits.push({ start: piece.start, end: piece.end, replacement: "" });
      if (piece.kind === "comment") count("HTML comment(s)");
      continue;
    }
    if (piece.kind === "close") continue;
    const name = piece.name!;
    if (hidesContent(name, piece.attributes ?? "")) {
      count("hidden element(s)");
      if (VOID_ELEMENTS.has(name)) {
        edits.push({ start: piece.start, end: piece.end, replacement: "" });
        continue;
      }
      let depth = 1;
      let j = i + 1;
      for (; j < pieces.length; j++) {
        const other = pieces[j]!;
        if (other.name !== name) continue;
        depth += other.kind === "open" ? 1 : -1;
        if (depth === 0) break;
      }
      edits.push({ start: piece.start, end: j < pieces.length ? pieces[j]!.end : src.length, replacement: "" });
      i = j;
      continue;
    }
    let n = 0;
    const tag = src.slice(piece.start, piece.end).replace(UNSEEN_ATTRIBUTE, () => (n++, ""));
    if (n) {
      edits.push({ start: piece.start, end: piece.end, replacement: tag });
      count("hidden attribute(s)", n);
    }
  }
}

/** `<!--` in text (not in code, not part of raw HTML already read): GitHub shows it, but it is dropped. */
function strayCommentOpeners(src: string, code: Range[], html: HtmlPiece[]): number[] {
  const found: number[] = [];
  const covered = [...code, ...html].sort((a, b) => a.start - b.start);
  let k = 0;
  let reach = -1; // the furthest end of the ranges starting at or before `at`
  for (let at = src.indexOf("<!--"); at >= 0; at = src.indexOf("<!--", at + 4)) {
    while (k < covered.length && covered[k]!.start <= at) reach = Math.max(reach, covered[k++]!.end);
    if (at >= reach) found.push(at);
  }
  return found;
}

/** Applies edits to `src`; where two overlap, both go (the union is dropped): dropping is the safe side. */
function applyEdits(src: string, edits: Edit[]): string {
  const sorted = [...edits].sort((a, b) => a.start - b.start || b.end - a.end);
  const merged: Edit[] = [];
  for (const edit of sorted) {
    const last = merged.at(-1);
    if (last && edit.start < last.end) {
      if (edit.end > last.end || last.replacement)
        merged[merged.length - 1] = { start: last.start, end: Math.max(last.end, edit.end), replacement: "" };
      continue;
    }
    merged.push(edit);
  }
  let out = "";
  let at = 0;
  for (const edit of merged) {
    out += src.slice(at, edit.start) + edit.replacement;
    at = edit.end;
  }
  return out + src.slice(at);
}

/**
 * Cuts text to about `maxTokens` (4 characters a token), at a line break when one is near, and
 * says what was cut, so the model knows it is not reading everything.
 */
export function truncateToTokens(text: string, maxTokens: number): string {
  const limit = maxTokens * 4;
  if (text.length <= limit) return text;
  let cut = text.lastIndexOf("\n", limit);
  if (cut < limit * 0.8) cut = limit;
  return `${text.slice(0, cut)}\n[… ${(text.length - cut).toLocaleString("en-US")} more characters cut to stay within the ${maxTokens.toLocaleString("en-US")}-token budget]`;
}
