/**
 * What `neutralizeMarkdown` (src/safety/markdown.ts) puts in place of what it finds: closing
 * keywords made `refs`, mentions wrapped in code, raw HTML tags kept bare, replaced by a
 * placeholder or removed. Pure helpers on strings; where they apply is markdown-it's reading of
 * the text (src/safety/markdown-source.ts).
 */
import type { HtmlPiece } from "./html-tags.js";

/** Tags kept (bare: no attributes, but for `<details open>`). */
const ALLOWED = new Set(["details", "summary", "br", "sub", "sup", "kbd", "code", "b", "i", "em", "strong"]);
/** Tags that load or embed something: replaced by a placeholder naming what was removed. */
const MEDIA: Record<string, string> = {
  img: "image",
  image: "image",
  source: "image",
  video: "video",
  audio: "audio",
  iframe: "embedded page",
  frame: "embedded page",
  embed: "embedded content",
  object: "embedded content",
};
/** Tags whose content goes with them (GitHub would not show it either). */
export const DROP_CONTENT = new Set(["script", "style", "textarea", "title", "noscript", "template", "xmp", "noembed", "noframes"]);

/** What a tag (open or close) becomes: itself bare (allowed), a placeholder (media), or nothing. */
export function tagReplacement(piece: HtmlPiece): string {
  const name = piece.name!;
  const closing = piece.kind === "close";
  if (ALLOWED.has(name)) {
    if (closing) return `</${name}>`;
    return name === "details" && /\sopen\b/i.test(piece.attributes ?? "") ? "<details open>" : `<${name}>`;
  }
  if (MEDIA[name] && !closing) return placeholder(MEDIA[name], urlAttribute(piece.attributes ?? ""));
  return "";
}

export function isCodeTag(piece: HtmlPiece): boolean {
  return piece.name === "code" && (piece.kind === "open" || piece.kind === "close");
}

/** `(image removed: host)`: nothing of the URL but its host, and that only when it is a plain one. */
export function placeholder(kind: string, url: string | undefined): string {
  let host = "";
  const u = url?.trim();
  if (u) {
    try {
      host = new URL(u.startsWith("//") ? `https:${u}` : u).hostname;
    } catch {
      host = ""; // a relative or malformed URL: no host to name
    }
  }
  return /^[A-Za-z0-9.-]{1,100}$/.test(host) ? `(${kind} removed: ${host})` : `(${kind} removed)`;
}

function urlAttribute(attributes: string): string | undefined {
  const m = /\s(?:src|srcset|poster|data|href)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+))/i.exec(attributes);
  return (m?.[1] ?? m?.[2] ?? m?.[3])?.trim().split(/\s+/)[0];
}

/**
 * A comment as GitHub's cmark reads one (CommonMark 0.29): no `--` inside, not starting with `>`
 * or `->`, not ending in `-`. markdown-it (0.31) takes more (`<!-- a -- b -->`, `<!-->`): those
 * are shown as text on GitHub, so they are made text here too.
 */
export function validComment(comment: string): boolean {
  if (comment.length < 7 || !comment.startsWith("<!--") || !comment.endsWith("-->")) return false;
  const body = comment.slice(4, -3);
  return !/^-?>/.test(body) && !body.includes("--") && !body.endsWith("-");
}

/**
 * A closing keyword and what it closes: `#12` (or `\#12`), `GH-4`, `owner/repo#3` or an issue or
 * pull URL, with emphasis, a colon, a `[`, bare `<b>`-like tags and one line break allowed between
 * them (`**Fixes** #3`, `fixed: [#4](…)`).
 */
const GAP = String.raw`(?:[*_~:[ \t]|<\/?(?:b|i|em|strong)>){0,12}(?:\n(?:[*_~:[ \t>]|<\/?(?:b|i|em|strong)>){0,12})?`;
const CLOSING = new RegExp(
  String.raw`(?<![A-Za-z0-9])(close[sd]?|fix(?:e[sd])?|resolve[sd]?)(?![A-Za-z0-9])${GAP}(?:\\?#(\d+)|gh-(\d+)|[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+\\?#\d+|https?:\/\/[A-Za-z0-9.-]+\/[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+\/(?:issues|pull)\/\d+)`,
  "gi",
);

/** The closing keywords in `text` that aim at anything but `allowIssue`: where they are, and `refs` for each. */
export function closingKeywords(text: string, allowIssue: number | undefined): { start: number; end: number; text: string }[] {
  const found: { start: number; end: number; text: string }[] = [];
  for (const m of text.matchAll(CLOSING)) {
    const n = m[2] ?? m[3];
    if (n !== undefined && allowIssue !== undefined && Number(n) === allowIssue) continue;
    const keyword = m[1]!;
    const refs = keyword === keyword.toUpperCase() ? "REFS" : keyword[0] === keyword[0]!.toUpperCase() ? "Refs" : "refs";
    found.push({ start: m.index, end: m.index + keyword.length, text: refs });
  }
  return found;
}

/** A name GitHub would ping after `@` (a user, or `org/team`). */
const MENTION_NAME = /[A-Za-z0-9](?:[A-Za-z0-9._\-/@]{0,98}[A-Za-z0-9_])?/y;
/** `@` as an entity: markdown needs the `;`, HTML takes a number without one. */
const AT_ENTITY_MARKDOWN = /&(?:#0{0,5}64|#[xX]0{0,4}40|commat);/y;
const AT_ENTITY_HTML = /&(?:#0*64(?![0-9])|#[xX]0*40(?![0-9A-Fa-f]));?|&commat;/y;

/** The mention name starting at `at`, cut where `stop` says the text ends; undefined when none. */
export function mentionName(text: string, at: number, stop: (i: number) => boolean): string | undefined {
  MENTION_NAME.lastIndex = at;
  const name = MENTION_NAME.exec(text)?.[0];
  let length = 0;
  while (name && length < name.length && !stop(at + length)) length++;
  if (!name || length === name.length) return name;
  MENTION_NAME.lastIndex = 0; // (cut short: what is left must still be a name)
  return MENTION_NAME.exec(name.slice(0, length))?.[0];
}

/** The length of an `@` written as an entity at `at`, or 0. */
export function atEntity(text: string, at: number, html: boolean): number {
  const re = html ? AT_ENTITY_HTML : AT_ENTITY_MARKDOWN;
  re.lastIndex = at;
  return re.exec(text)?.[0].length ?? 0;
}

const NUMERIC_ENTITY_MARKDOWN = /&#(?:[xX]([0-9A-Fa-f]{1,6})|([0-9]{1,7}));/y;
const NUMERIC_ENTITY_HTML = /&#(?:[xX]([0-9A-Fa-f]+)|([0-9]+));?/y;

/**
 * A numeric entity at `at` that stands for an ASCII letter or digit, and that character: written
 * out, it reads the same, and a mention or closing keyword spelt with one (`@&#97;dmin`,
 * `fi&#120;es #3`) is then seen as such.
 */
export function alnumEntity(text: string, at: number, html: boolean): { length: number; char: string } | undefined {
  const re = html ? NUMERIC_ENTITY_HTML : NUMERIC_ENTITY_MARKDOWN;
  re.lastIndex = at;
  const m = re.exec(text);
  if (!m) return undefined;
  const code = m[1] !== undefined ? parseInt(m[1], 16) : Number(m[2]);
  const char = code < 128 ? String.fromCharCode(code) : "";
  return /^[A-Za-z0-9]$/.test(char) ? { length: m[0].length, char } : undefined;
}

/** A mention wrapped so that it pings nobody: inline code, or `<code>` where backticks would not do. */
export function wrapMention(name: string, backticks: boolean): string {
  return backticks ? `\`@${name}\`` : `<code>@${name}</code>`;
}
