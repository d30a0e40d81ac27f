/**
 * The raw HTML in a markdown document, tag by tag, and the rule for what of it a reader cannot
 * see: the one place that decides, for `sanitize()` (src/safety/sanitize.ts).
 */

export interface HtmlPiece {
  kind: "open" | "close" | "comment" | "other";
  /** Lower-cased tag name (open and close tags). */
  name?: string;
  /** The attributes as written (open tags). */
  attributes?: string;
  start: number;
  end: number;
  /** Which block of the document it is in (`parseSource`): a tag pairs only with one in its block. */
  block?: number;
}

const ATTRIBUTE = String.raw`(?:\s+[A-Za-z_:][A-Za-z0-9_.:-]*(?:\s*=\s*(?:[^\s"'=<>\x60]+|'[^']*'|"[^"]*"))?)`;
/** CommonMark's raw HTML (the same shapes markdown-it's `html_inline` takes), each at its start. */
const PIECE = new RegExp(
  [
    String.raw`<(?<open>[A-Za-z][A-Za-z0-9-]*)(?<attributes>${ATTRIBUTE}*)\s*\/?>`,
    String.raw`<\/(?<close>[A-Za-z][A-Za-z0-9-]*)\s*>`,
    String.raw`(?<comment><!--[\s\S]*?-->|<!-->|<!--->)`,
    String.raw`<\?[\s\S]*?\?>|<![A-Za-z][^>]*>|<!\[CDATA\[[\s\S]*?\]\]>`,
  ].join("|"),
  "y",
);

/** What ends a comment, a processing instruction, CDATA or a declaration. */
const SPECIAL_END: [string, string][] = [
  ["<!--", "-->"],
  ["<![CDATA[", "]]>"],
  ["<?", "?>"],
  ["<!", ">"],
];

/** One raw-HTML token as markdown-it gives it (`html_inline`): a tag, a comment or a declaration. */
export function htmlPiece(html: string, start: number): HtmlPiece {
  PIECE.lastIndex = 0;
  const m = PIECE.exec(html);
  const end = start + html.length;
  if (!m?.groups) return { kind: "other", start, end };
  const g = m.groups;
  if (g.open) return { kind: "open", name: g.open.toLowerCase(), attributes: g.attributes ?? "", start, end };
  if (g.close) return { kind: "close", name: g.close.toLowerCase(), start, end };
  return { kind: g.comment ? "comment" : "other", start, end };
}

/**
 * The pieces of an HTML block (markdown-it's `html_block` content), offsets relative to it. An
 * unterminated comment runs to the end of the block (and `sanitize` takes it to the end of the
 * document, as a browser does).
 */
export function htmlPieces(html: string): HtmlPiece[] {
  const pieces: HtmlPiece[] = [];
  const unterminated = new Set<string>(); // (so that many `<?` with no `?>` after them stay linear)
  for (let at = html.indexOf("<"); at >= 0 && at < html.length; at = html.indexOf("<", at)) {
    const end = SPECIAL_END.find(([start]) => html.startsWith(start, at))?.[1];
    if (end && (unterminated.has(end) || html.indexOf(end, at + 2) < 0)) {
      unterminated.add(end);
      if (end === "-->") {
        pieces.push({ kind: "comment", start: at, end: Number.POSITIVE_INFINITY });
        break;
      }
      at++;
      continue;
    }
    PIECE.lastIndex = at;
    const m = PIECE.exec(html);
    if (m) {
      pieces.push(htmlPiece(m[0], at));
      at += m[0].length;
    } else at++;
  }
  return pieces;
}

/** Elements that have no content (a `hidden` one hides only its attributes). */
export const VOID_ELEMENTS = new Set([
  "area",
  "base",
  "br",
  "col",
  "embed",
  "hr",
  "img",
  "input",
  "link",
  "meta",
  "param",
  "source",
  "track",
  "wbr",
]);

/** Elements whose content a reader never sees as text, whatever their attributes. */
export const CONTENT_NOT_SHOWN = new Set([
  "script",
  "style",
  "template",
  "noscript",
  "title",
  "textarea",
  "xmp",
  "noembed",
  "noframes",
  "iframe",
  "object",
  "svg",
  "math",
]);

/**
 * The sanitizer's rule for a hidden element. It errs towards hiding: any attribute that hides the
 * element in some renderer counts, whether or not GitHub's HTML filter keeps it. So `hidden` (any
 * value), `aria-hidden` (any value but `false`), and a `style` with `display:none`,
 * `visibility:hidden|collapse`, `opacity:0`, `font-size:0`, `width:0`/`height:0`/`max-height:0`,
 * `clip`/`clip-path`, or a large negative offset (`left:-9999px`, `text-indent:-9999px`).
 */
export function hidesContent(name: string, attributes: string): boolean {
  if (CONTENT_NOT_SHOWN.has(name)) return true;
  const attrs = parseAttributes(attributes);
  if (attrs.has("hidden")) return true;
  const aria = attrs.get("aria-hidden");
  if (aria !== undefined && aria.trim().toLowerCase() !== "false") return true;
  const style = attrs.get("style")?.toLowerCase().replace(/\s+/g, "");
  if (!style) return false;
  return HIDING_STYLE.test(style);
}

const ZERO = String.raw`0*\.?0*(?:px|em|rem|pt|%)?(?:;|!|$)`;
const HIDING_STYLE = new RegExp(
  String.raw`(?:^|;)(?:display:none|visibility:(?:hidden|collapse)|opacity:${ZERO}|font-size:${ZERO}|(?:max-)?(?:width|height):${ZERO}|clip(?:-path)?:|(?:left|top|right|bottom|text-indent|margin-left|margin-top):-\d{3,})`,
);

function parseAttributes(attributes: string): Map<string, string> {
  const attrs = new Map<string, string>();
  const re = /([A-Za-z_:][A-Za-z0-9_.:-]*)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?/g;
  for (const m of attributes.matchAll(re)) attrs.set(m[1]!.toLowerCase(), m[2] ?? m[3] ?? m[4] ?? "");
  return attrs;
}

/** Attributes a reader never sees the text of (alt, title, aria-*, data-*). */
export const UNSEEN_ATTRIBUTE = /\s(?:alt|title|aria-[a-z-]+|data-[a-z-]+)\s*=\s*(?:"[^"]*"|'[^']*'|[^\s>]+)/gi;
