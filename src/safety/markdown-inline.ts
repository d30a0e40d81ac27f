/**
 * The inline half of `neutralizeMarkdown` (src/safety/markdown.ts): within one line of
 * markdown, mentions, closing keywords, images, raw HTML tags and autolinks, with code spans left
 * as they are.
 */
import { ASCII_PUNCT } from "./secrets.js";

export interface InlineContext {
  allowIssue?: number;
  /** Link reference definitions, for reference-style images. */
  refs: Map<string, string>;
  /** The text has a table: `|` splits cells before code spans are found. */
  tables: boolean;
}

export const CONTAINER_PREFIX = /^(?:[ \t]*(?:>|[-+*](?=[ \t])|\d{1,9}[.)](?=[ \t])))*[ \t]*/;
const ALLOWED_TAGS = ["details", "summary", "br", "sub", "sup", "kbd", "code", "b", "i", "em", "strong"];
/** A line starting an HTML block (CommonMark type 6, of the kept tags): markdown stops until a blank line. */
export const HTML_BLOCK_TAG = /^<\/?(?:details|summary)(?=[\s/>]|$)/i;
/** A kept tag alone on its line starts one too (type 7). */
export const LONE_TAG = new RegExp(String.raw`^<\/?(?:${ALLOWED_TAGS.join("|")})(?:\s[^<>]*)?\/?>\s*$`, "i");
const ALLOWED = new Set(ALLOWED_TAGS);
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
const DROP_CONTENT = new Set(["script", "style", "textarea", "title", "noscript", "template", "xmp", "noembed", "noframes"]);
const ATTRIBUTE = String.raw`(?:\s+[A-Za-z_:][A-Za-z0-9_.:-]*(?:\s*=\s*(?:[^\s"'=<>\x60]+|'[^']*'|"[^"]*"))?)`;
const TAG = new RegExp(String.raw`<(?:([A-Za-z][A-Za-z0-9-]*)(${ATTRIBUTE}*)\s*(\/?)>|\/([A-Za-z][A-Za-z0-9-]*)\s*>)`, "y");
const AUTOLINK =
  /<(?:[A-Za-z][A-Za-z0-9+.-]{1,31}:[^\s<>\p{Cc}]*|[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*)>/uy;
const MENTION_NAME = /[A-Za-z0-9](?:[A-Za-z0-9._\-/@]{0,98}[A-Za-z0-9_])?/y;
const AT_ENTITY = /&(?:#0*64|#[xX]0*40|commat);/y;
const URL_START = /(?:https?:\/\/|ftp:\/\/|www\.)/iy;
const CLOSING_SOURCE = String.raw`(close[sd]?|fix(?:e[sd])?|resolve[sd]?)(?![A-Za-z0-9])([*_~]{0,3}[ \t]*:?[*_~]{0,3}[ \t]*[*_~]{0,3}\[?)(?:#(\d+)|gh-(\d+)|[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+#\d+|https?:\/\/[A-Za-z0-9.-]+\/[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+\/(?:issues|pull)\/\d+)`;
const CLOSING = new RegExp(CLOSING_SOURCE, "iy");
const CLOSING_ANYWHERE = new RegExp(String.raw`(?<![A-Za-z0-9])${CLOSING_SOURCE}`, "gi");
const ALNUM = /[A-Za-z0-9]/;

function closingReplacement(m: RegExpExecArray, ctx: InlineContext): string {
  const n = m[3] ?? m[4];
  if (n !== undefined && ctx.allowIssue !== undefined && Number(n) === ctx.allowIssue) return m[0];
  const keyword = m[1]!;
  const refs = keyword === keyword.toUpperCase() ? "REFS" : keyword[0] === keyword[0]!.toUpperCase() ? "Refs" : "refs";
  return refs + m[0].slice(keyword.length);
}

export function defuseKeywords(text: string, ctx: InlineContext): string {
  return text.replace(CLOSING_ANYWHERE, (...args) => closingReplacement(args as unknown as RegExpExecArray, ctx));
}

/** Index of the first `|` at or after `from` that no backslash escapes, or `line.length`. */
function nextPipe(line: string, from: number): number {
  for (let i = from; i < line.length; i++) {
    if (line[i] === "\\") i++;
    else if (line[i] === "|") return i;
  }
  return line.length;
}

/** Start of the next run of exactly `len` backticks in [from, limit), or -1. */
function closingRun(line: string, from: number, limit: number, len: number): number {
  let i = from;
  while (i < limit) {
    if (line[i] !== "`") {
      i++;
      continue;
    }
    let j = i;
    while (line[j] === "`") j++;
    if (j - i === len && j <= limit) return i;
    i = j;
  }
  return -1;
}

/** Index of the `close` matching the `open` at `at`, on this line (backslash escapes honoured), or -1. */
function matching(line: string, at: number, open: string, close: string): number {
  let depth = 0;
  for (let i = at; i < line.length; i++) {
    const c = line[i];
    if (c === "\\") i++;
    else if (c === open) depth++;
    else if (c === close && --depth === 0) return i;
  }
  return -1;
}

function placeholder(kind: string, url: string | undefined): string {
  let host = "";
  const u = url?.trim();
  if (u) {
    try {
      host = new URL(u.startsWith("//") ? `https:${u}` : u).hostname;
    } catch {
      host = "";
    }
  }
  return /^[A-Za-z0-9.-]{1,100}$/.test(host) ? `(${kind} removed: ${host})` : `(${kind} removed)`;
}

function urlAttribute(attributes: string): string | undefined {
  const m = /\s(?:src|srcset|poster|data|href)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+))/i.exec(attributes);
  return (m?.[1] ?? m?.[2] ?? m?.[3])?.trim().split(/\s+/)[0];
}

/** A markdown image at `at` (`![`): where it ends and its URL, when it can be told. */
function image(line: string, at: number, ctx: InlineContext): { end: number; url?: string } | undefined {
  const close = matching(line, at + 1, "[", "]");
  if (close < 0) return undefined;
  const alt = line.slice(at + 2, close);
  const end = close + 1;
  if (line[end] === "(") {
    const paren = matching(line, end, "(", ")");
    if (paren < 0) return { end };
    const inside = line.slice(end + 1, paren).trim();
    return { end: paren + 1, url: inside.startsWith("<") ? inside.slice(1).split(">")[0] : inside.split(/\s+/)[0] };
  }
  if (line[end] === "[") {
    const label = matching(line, end, "[", "]");
    if (label >= 0) return { end: label + 1, url: ctx.refs.get(normalizeLabel(line.slice(end + 1, label) || alt)) };
  }
  return { end, url: ctx.refs.get(normalizeLabel(alt)) };
}

/** Start indices of the backtick runs on this line that pair up (opener and closer), `\``s skipped. */
function pairedRuns(line: string, table: boolean): Set<number> {
  const paired = new Set<number>();
  let i = 0;
  while (i < line.length) {
    if (line[i] === "\\" && line[i + 1] === "`") {
      i += 2;
      continue;
    }
    if (line[i] !== "`") {
      i++;
      continue;
    }
    let j = i;
    while (line[j] === "`") j++;
    const close = closingRun(line, j, table ? nextPipe(line, j) : line.length, j - i);
    if (close < 0) {
      i = j;
      continue;
    }
    paired.add(i).add(close);
    i = close + j - i;
  }
  return paired;
}

/**
 * One line outside code blocks. `markdown` false: the line may be raw HTML (an HTML block), where
 * GitHub shows backticks and backslashes as they are, or may not: it is made safe either way (its
 * code spans are no shelter, a mention is wrapped in `<code>`, a lone backtick is escaped).
 */
export function inline(line: string, markdown: boolean, ctx: InlineContext): string {
  return new InlineScanner(line, markdown, ctx).run();
}

/** The scan of one line for `inline`: one method per construct, tried in a fixed order. */
class InlineScanner {
  private readonly table: boolean;
  private readonly paired: Set<number> | undefined;
  private out = "";
  private last = "\n"; // (out's last character, kept: indexing a string built by += flattens it)
  private i = 0;
  private codeUntil = -1; // inside <code>…</code>: mentions do not ping there
  private urlUntil = -1; // inside what GitHub may make a link of (see `noteUrl`)

  constructor(
    private readonly line: string,
    private readonly markdown: boolean,
    private readonly ctx: InlineContext,
  ) {
    this.table = ctx.tables && nextPipe(line, 0) < line.length;
    this.paired = markdown ? undefined : pairedRuns(line, this.table);
  }

  run(): string {
    const line = this.line;
    while (this.i < line.length) {
      const c = line[this.i]!;
      this.noteUrl(c);
      if (this.i < this.urlUntil && this.inUrl(c)) continue;
      if (this.escape(c) || this.backticks(c)) continue;
      if (c === "<") {
        this.angle();
        continue;
      }
      if (c === "!" && line[this.i + 1] === "[") {
        this.imageLink();
        continue;
      }
      if (c === "@" && this.atMention()) continue;
      if (c === "&" && this.entityMention()) continue;
      if (/[A-Za-z]/.test(c) && !ALNUM.test(this.last)) {
        this.word();
        continue;
      }
      this.emit(c);
      this.i++;
    }
    return this.out;
  }

  private emit(text: string): void {
    if (!text) return;
    this.out += text;
    this.last = text[text.length - 1]!;
  }

  /** The output ends in an odd number of backslashes: what comes next is escaped in markdown. */
  private escaping(): boolean {
    if (this.last !== "\\") return false;
    const out = this.out;
    let n = 0;
    while (n < out.length && out[out.length - 1 - n] === "\\") n++;
    return n % 2 === 1;
  }

  /** The name of a mention that would ping, starting at `nameAt`, or undefined. */
  private mention(nameAt: number): string | undefined {
    if (ALNUM.test(this.last) || nameAt <= this.codeUntil) return undefined;
    MENTION_NAME.lastIndex = nameAt;
    return MENTION_NAME.exec(this.line)?.[0];
  }

  private wrap(name: string, after: string | undefined): string {
    return this.markdown && this.last !== "`" && after !== "`" ? `\`@${name}\`` : `${this.escaping() ? "\\" : ""}<code>@${name}</code>`;
  }

  /** Notes where a URL that GitHub may link starts at `c`, and where it stops. */
  private noteUrl(c: string): void {
    if (this.i >= this.urlUntil && /[hfw]/i.test(c)) {
      // GitHub links `http://`, `https://`, `ftp://` and `www.` up to a space or `<` (when not after
      // a letter or an open `[`) and takes everything in it, backticks and backslashes too, as part
      // of the URL. Here, whether it does or not makes no difference: a backtick in it is escaped,
      // an escape is kept whole, an `@` that could mention becomes `%40`.
      URL_START.lastIndex = this.i;
      if (URL_START.test(this.line)) {
        const stop = this.line.slice(this.i).search(/[\s<]/);
        this.urlUntil = stop < 0 ? this.line.length : this.i + stop;
      }
    }
  }

  /** `c` inside a URL (see `noteUrl`): true when it was handled here. */
  private inUrl(c: string): boolean {
    const { line, i } = this;
    if (c === "\\" && this.markdown && line[i + 1] === "@" && this.mention(i + 2)) {
      this.emit("%40");
      this.i += 2;
      return true;
    }
    // an escape is kept whole; a backslash that escapes nothing (any in raw HTML, but before a
    // backtick) is a character of its own, after which a mention or closing keyword can start
    const escapes = this.markdown ? ASCII_PUNCT.test(line[i + 1] ?? "") : line[i + 1] === "`";
    if (c === "\\" && escapes && i + 1 < this.urlUntil) {
      this.emit(c + line[i + 1]);
      this.i += 2;
      return true;
    }
    if (c === "`" || c === "\\") {
      this.emit(c === "`" ? "\\`" : c);
      this.i++;
      return true;
    }
    if (c === "@" && this.mention(i + 1)) {
      this.emit("%40");
      this.i++;
      return true;
    }
    return false;
  }

  /** A backslash escape (in markdown), or an escaped backtick (in raw HTML): true when handled. */
  private escape(c: string): boolean {
    const { line, i } = this;
    if (this.markdown && c === "\\" && i + 1 < line.length && ASCII_PUNCT.test(line[i + 1]!)) {
      const name = line[i + 1] === "@" ? this.mention(i + 2) : undefined;
      if (name) {
        // `\@user` renders as `@user`, which pings
        this.emit(this.wrap(name, line[i + 2 + name.length]));
        this.i += 2 + name.length;
      } else {
        this.emit(c + line[i + 1]);
        this.i += 2;
      }
      return true;
    }
    if (!this.markdown && c === "\\" && line[i + 1] === "`") {
      this.emit("\\`");
      this.i += 2;
      return true;
    }
    return false;
  }

  /** A run of backticks: a code span kept whole, or escaped when it pairs with none. */
  private backticks(c: string): boolean {
    if (c !== "`") return false;
    const { line, i } = this;
    let j = i;
    while (line[j] === "`") j++;
    if (!this.markdown) {
      this.emit(this.paired!.has(i) ? line.slice(i, j) : "\\`".repeat(j - i));
      this.i = j;
      return true;
    }
    const close = closingRun(line, j, this.table ? nextPipe(line, j) : line.length, j - i);
    if (close >= 0) {
      this.emit(line.slice(i, close + j - i));
      this.i = close + j - i;
    } else {
      this.emit("\\`".repeat(j - i)); // opens no code span here: make sure it opens none on GitHub
      this.i = j;
    }
    return true;
  }

  /** `<`: a comment, an autolink, a tag, or else a `<` shown as such. */
  private angle(): void {
    const { line, i } = this;
    // an autolink comes first, as on GitHub (`<!--a@b.com>` is an email link, not a comment); in
    // raw HTML there are none: its `<` is escaped like any other that starts no kept tag
    AUTOLINK.lastIndex = i;
    const link = this.markdown ? AUTOLINK.exec(line) : null;
    if (link) {
      this.emit(link[0]);
      this.i += link[0].length;
      return;
    }
    if (line.startsWith("<!--", i)) {
      const end = line.indexOf("-->", i + 2);
      const comment = line.slice(i, end + 3);
      // (where the line may be markdown too, a backtick in it may end a code span that started
      // before it, and what follows is text there: so it is no comment to keep as it is)
      if (end >= 0 && validComment(comment) && (this.markdown || !comment.includes("`"))) {
        this.emit(defuseKeywords(comment, this.ctx));
        this.i = end + 3;
        return;
      }
      this.emit("&lt;");
      this.i++;
      return;
    }
    TAG.lastIndex = i;
    const tag = TAG.exec(line);
    if (!tag) {
      this.emit("&lt;");
      this.i++;
      return;
    }
    this.i += tag[0].length;
    this.tag(tag);
  }

  /** An HTML tag, already passed: kept bare (allowed), replaced (media), or dropped with its content. */
  private tag(tag: RegExpExecArray): void {
    const line = this.line;
    const closing = tag[4] !== undefined;
    const name = (tag[1] ?? tag[4])!.toLowerCase();
    if (ALLOWED.has(name)) {
      const escaped = this.escaping(); // (raw HTML here, or an escaped `<` in markdown: no shelter then)
      this.emit(closing ? `</${name}>` : name === "details" && /\sopen\b/i.test(tag[2] ?? "") ? "<details open>" : `<${name}>`);
      if (name === "code" && !closing) {
        const end = line.toLowerCase().indexOf("</code>", this.i);
        const inside = end < 0 ? "" : line.slice(this.i, end);
        if (end >= 0 && !escaped && !inside.includes("<") && !(this.table && nextPipe(inside, 0) < inside.length)) this.codeUntil = end;
      }
    } else if (MEDIA[name]) {
      if (!closing) this.emit(placeholder(MEDIA[name], urlAttribute(tag[2] ?? "")));
    } else if (DROP_CONTENT.has(name) && !closing) {
      const end = line.toLowerCase().indexOf(`</${name}`, this.i);
      if (end >= 0) {
        const gt = line.indexOf(">", end);
        this.i = gt >= 0 ? gt + 1 : line.length;
      }
    }
  }

  /** `![`: an image replaced by a placeholder, or an escaped `!`. */
  private imageLink(): void {
    const img = image(this.line, this.i, this.ctx);
    if (img) {
      this.emit(placeholder("image", img.url));
      this.i = img.end;
    } else {
      // `![` that does not close on this line: escaped, so that it starts no image on GitHub
      // either (in raw HTML a backslash is literal: one already there is enough)
      this.emit(!this.markdown && this.last === "\\" ? "!" : "\\!");
      this.i++;
    }
  }

  /** `@name` that would ping: wrapped in code. True when handled. */
  private atMention(): boolean {
    const name = this.mention(this.i + 1);
    if (!name) return false;
    this.emit(this.wrap(name, this.line[this.i + 1 + name.length]));
    this.i += 1 + name.length;
    return true;
  }

  /** `&#64;name` (or another entity for `@`) that would ping: wrapped in code. True when handled. */
  private entityMention(): boolean {
    AT_ENTITY.lastIndex = this.i;
    const at = AT_ENTITY.exec(this.line);
    const name = at ? this.mention(this.i + at[0].length) : undefined;
    if (!at || !name) return false;
    this.emit(this.wrap(name, this.line[this.i + at[0].length + name.length]));
    this.i += at[0].length + name.length;
    return true;
  }

  /** A word's start: a closing keyword defused, or the word up to where a URL could start. */
  private word(): void {
    const { line, i } = this;
    CLOSING.lastIndex = i;
    const keyword = CLOSING.exec(line);
    if (keyword) {
      this.emit(closingReplacement(keyword, this.ctx));
      this.i += keyword[0].length;
      return;
    }
    let j = i + 1;
    while (j < line.length && ALNUM.test(line[j]!) && !/[hfw]/i.test(line[j]!)) j++;
    this.emit(line.slice(i, j));
    this.i = j;
  }
}

export function normalizeLabel(label: string): string {
  return label.trim().replace(/\s+/g, " ").toLowerCase();
}

/** GitHub's (cmark's) comment: no `--` inside, not starting with `>` or `->`, not ending in `-`. */
export function validComment(comment: string): boolean {
  const body = comment.slice(4, -3);
  return !/^-?>/.test(body) && !body.includes("--") && !body.endsWith("-");
}
