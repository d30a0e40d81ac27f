/**
 * What Tollgate lets out, in one place: everything it posts to GitHub and everything it stores
 * as a transcript.
 *
 * - `maskSecrets`: secret-shaped strings become `[redacted …]`, also when they are hidden from a
 *   plain pattern by a letter glued in front, invisible characters, fullwidth forms, HTML entities,
 *   markdown escapes or base64. For transcripts and for every post.
 * - `neutralizeMarkdown`: markdown a model wrote cannot ping anyone, close an issue other than the
 *   run's own, load a remote image or carry raw HTML. For model-written text in PR bodies, comments
 *   and review-thread replies (text Tollgate writes itself may mention people on purpose).
 * - `forGitHub`: both, for a model-written body about to be posted.
 *
 * Untrusted text going INTO a prompt goes through `sanitize()` (src/github/sanitize.ts), which
 * masks with the same rules.
 */

// ---------------------------------------------------------------------------------------------
// Secrets
// ---------------------------------------------------------------------------------------------

interface SecretRule {
  pattern: RegExp;
  mask: string;
  /** Mask only this capture group (the pattern then has the `d` flag), not the whole match. */
  group?: number;
  /** A second look at a candidate, where a pattern alone would mask ordinary text. */
  accept?: (m: RegExpMatchArray) => boolean;
}

const PEM_PREFIX = String.raw`[ \t]*(?:\d+\t[ \t]*)?(?:[+>][ \t]*)?`; // indentation, a file view's line number, a diff's "+"
const PEM_LINE = String.raw`${PEM_PREFIX}[A-Za-z0-9+/]{40,80}={0,2}[ \t]*`;

/**
 * The patterns run on a "matching view" of the text (see `matchingView`), so none needs a `\b`
 * boundary: a letter or `_` glued in front (`xghs_…`) does not hide a token.
 */
const SECRET_RULES: SecretRule[] = [
  { pattern: /-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z ]*PRIVATE KEY-----|$)/g, mask: "[redacted private key]" },
  {
    // Best effort, a PEM body without its BEGIN line (a file view from line 2, a pasted key):
    // three or more lines of only base64 (40–80 characters each, after indentation, a file
    // view's line number or a diff's "+"), at least 200 base64 characters in all, that either
    // start like DER (`MII`/`MIG`) or are exactly PEM's 64 characters wide and mix upper case,
    // lower case and digits (so a list of hex digests is not caught).
    pattern: new RegExp(String.raw`(?<![^\n])(?:${PEM_LINE}\r?\n){2,}${PEM_LINE}(?:\r?\n${PEM_PREFIX}[A-Za-z0-9+/]{1,80}={0,2}[ \t]*)?(?![^\r\n])`, "g"),
    mask: "[redacted private key]",
    accept: (m) => pemBody(m[0]),
  },
  {
    // The same body on one line, or with its line breaks escaped (`\n`) as in JSON or .env files.
    pattern: /(?<![A-Za-z0-9+/])MI[IG](?:[A-Za-z0-9+/]|\\[nr]){197,}={0,2}/g,
    mask: "[redacted private key]",
    accept: (m) => m[0].replace(/\\[nr]/g, "").length >= 200,
  },
  { pattern: /gh[opsur]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{40,}/g, mask: "[redacted GitHub token]" },
  { pattern: /sk-ant-[A-Za-z0-9_-]{20,}/g, mask: "[redacted Anthropic key]" },
  // Other `sk-` keys; mixed case and a digit, so that `task-queue-…` identifiers survive.
  { pattern: /sk-[A-Za-z0-9_-]{32,}/g, mask: "[redacted API key]", accept: (m) => /\d/.test(m[0]) && /[A-Z]/.test(m[0]) && /[a-z]/.test(m[0].slice(3)) },
  { pattern: /(?:AKIA|ASIA)[0-9A-Z]{16}(?![0-9A-Z])/g, mask: "[redacted AWS key]" },
  { pattern: /xox[abprs]-[A-Za-z0-9-]{10,}/g, mask: "[redacted Slack token]" },
  { pattern: /eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}/g, mask: "[redacted JWT]" },
  { pattern: /(?<![a-z0-9+.-])[a-z][a-z0-9+.-]*:\/\/[^\s:@/]+:[^\s@/]+@/gi, mask: "[redacted URL with password]@" },
  {
    // An Authorization header's value (git's `http.extraheader=AUTHORIZATION: basic <base64>`).
    pattern: /(authorization["']?\s*[:=]\s*["']?)((?:basic|bearer|token|digest|negotiate)\s+)?([^\s"'\\,;]+)/dgi,
    group: 3,
    mask: "[redacted credentials]",
    accept: (m) => (m[2] && /^basic/i.test(m[2]) ? basicCredentials(m[3]!) : credentialLike(m[3]!) || basicCredentials(m[3]!)),
  },
  {
    // `basic <base64 of user:password>` and `bearer <token>` without the header's name.
    pattern: /(basic|bearer)\s+([A-Za-z0-9+/_.~-]{8,}={0,2})/dgi,
    group: 2,
    mask: "[redacted credentials]",
    accept: (m) => (/^basic$/i.test(m[1]!) ? basicCredentials(m[2]!) : credentialLike(m[2]!)),
  },
  // A base64 string that decodes to a credential (`x-access-token:…`, a token, a private key).
  { pattern: /[A-Za-z0-9+/_-]{24,}={0,2}/g, mask: "[redacted base64 credential]", accept: (m) => decodesToSecret(m[0]) },
];

function pemBody(block: string): boolean {
  const lines = block
    .split("\n")
    .map((l) => l.replace(/^[ \t]*(?:\d+\t[ \t]*)?(?:[+>][ \t]*)?/, "").trim())
    .filter(Boolean);
  const body = lines.join("");
  if (body.length < 200) return false;
  if (/^MI[IG]/.test(body)) return true;
  const full = lines.slice(0, -1);
  return full.length >= 3 && full.every((l) => l.length === 64) && /[A-Z]/.test(body) && /[a-z]/.test(body) && /\d/.test(body);
}

/** Long enough, with letters and digits: a token, not a word or a `$PLACEHOLDER`. */
function credentialLike(value: string): boolean {
  return value.length >= 16 && /\d/.test(value) && /[A-Za-z]/.test(value);
}

/** Base64 of printable `user:password`, as in a Basic authorization header. */
function basicCredentials(value: string): boolean {
  const b = value.replace(/=+$/, "");
  if (b.length < 8 || b.length % 4 === 1 || /[^A-Za-z0-9+/_-]/.test(b)) return false;
  const text = Buffer.from(b, "base64").toString("latin1");
  return /^[\x20-\x7e]+$/.test(text) && text.includes(":");
}

const DECODED_SECRET = /x-access-token:|gh[opsur]_[A-Za-z0-9]{30}|github_pat_[A-Za-z0-9_]{40}|sk-ant-[A-Za-z0-9_-]{20}|-----BEGIN [A-Z ]*PRIVATE KEY|(?:AKIA|ASIA)[0-9A-Z]{16}|xox[abprs]-[A-Za-z0-9-]{10}/;

/** Decodes a base64 run at each of the four alignments (a glued prefix shifts it) and looks for a secret. */
function decodesToSecret(run: string): boolean {
  const b = run.replace(/=+$/, "");
  for (let offset = 0; offset < 4; offset++) {
    const part = b.slice(offset);
    const usable = part.slice(0, part.length - (part.length % 4));
    if (usable.length < 20) break;
    if (DECODED_SECRET.test(Buffer.from(usable, "base64").toString("latin1"))) return true;
  }
  return false;
}

/**
 * The text the secret patterns see: Unicode-normalised (NFKC, so `ｇｈｓ＿` is `ghs_`), without
 * what renders as nothing (format characters such as zero-width spaces, bidi controls and tags;
 * combining marks; Hangul fillers; control characters), with HTML entities decoded (`&#95;`) and
 * markdown escapes removed (`ghs\_…`), as GitHub would render it. Each of its characters knows
 * the span of the original it came from, so a mask replaces exactly the original's characters.
 */
interface MatchingView {
  text: string;
  /** Original [start, end) of view character i. */
  start: number[];
  end: number[];
}

const IGNORED = /^(?:[\p{Cf}\p{Mn}\p{Me}\u115F\u1160\u3164\uFFA0]|(?![\t-\r])\p{Cc})$/u;
const ENTITY = /&(?:#(\d{1,7})|#[xX]([0-9A-Fa-f]{1,6})|([A-Za-z]{2,10}));/y;
const NAMED_ENTITIES: Record<string, string> = {
  amp: "&", lt: "<", gt: ">", quot: '"', apos: "'", lowbar: "_", UnderBar: "_", hyphen: "-", dash: "-",
  colon: ":", sol: "/", plus: "+", equals: "=", period: ".", commat: "@", num: "#", dollar: "$", percnt: "%",
};
const ASCII_PUNCT = /^[!-/:-@[-`{-~]$/;
const nfkcCache = new Map<string, string>();

function viewOf(ch: string): string {
  if (ch.length === 1 && ch.charCodeAt(0) < 0x80) return IGNORED.test(ch) ? "" : ch;
  let v = nfkcCache.get(ch);
  if (v === undefined) {
    v = IGNORED.test(ch) ? "" : [...ch.normalize("NFKC")].filter((c) => !IGNORED.test(c)).join("");
    if (nfkcCache.size < 10_000) nfkcCache.set(ch, v);
  }
  return v;
}

function matchingView(input: string): MatchingView | undefined {
  if (!/[^\t\n\r\x20-\x7e]|[&\\]/.test(input)) return undefined; // plain ASCII: the view is the text
  const chars: string[] = [];
  const start: number[] = [];
  const end: number[] = [];
  let i = 0;
  while (i < input.length) {
    let emit: string;
    let next: number;
    const code = input.charCodeAt(i);
    if (code === 0x26 /* & */) {
      ENTITY.lastIndex = i;
      const m = ENTITY.exec(input);
      const decoded = m ? decodeEntity(m) : undefined;
      if (m && decoded !== undefined) {
        emit = viewOf(decoded);
        next = i + m[0].length;
      } else {
        emit = "&";
        next = i + 1;
      }
    } else if (code === 0x5c /* \ */ && i + 1 < input.length && ASCII_PUNCT.test(input[i + 1]!)) {
      emit = input[i + 1]!;
      next = i + 2;
    } else {
      const ch = String.fromCodePoint(input.codePointAt(i)!);
      emit = viewOf(ch);
      next = i + ch.length;
    }
    for (const c of emit) {
      // (a UTF-16 pair from NFKC maps as one; keep the arrays per code unit)
      for (let k = 0; k < c.length; k++) {
        chars.push(c[k]!);
        start.push(i);
        end.push(next);
      }
    }
    i = next;
  }
  return { text: chars.join(""), start, end };
}

function decodeEntity(m: RegExpExecArray): string | undefined {
  const cp = m[1] !== undefined ? Number(m[1]) : m[2] !== undefined ? parseInt(m[2], 16) : undefined;
  if (cp !== undefined) return cp > 0 && cp <= 0x10ffff ? String.fromCodePoint(cp) : undefined;
  return NAMED_ENTITIES[m[3]!];
}

interface SecretHit {
  start: number;
  end: number;
  mask: string;
}

/** Where the secrets are in `text` (original offsets, merged so that none overlap), in order. */
function findSecrets(text: string): SecretHit[] {
  const view = matchingView(text);
  const seen = view?.text ?? text;
  const hits: Array<SecretHit & { rule: number }> = [];
  SECRET_RULES.forEach((rule, index) => {
    for (const m of seen.matchAll(rule.pattern)) {
      if (rule.accept && !rule.accept(m)) continue;
      const [s, e] = rule.group !== undefined ? (m.indices?.[rule.group] ?? [0, 0]) : [m.index, m.index + m[0].length];
      if (e <= s) continue;
      hits.push({ start: view ? view.start[s]! : s, end: view ? view.end[e - 1]! : e, mask: rule.mask, rule: index });
    }
  });
  hits.sort((a, b) => a.start - b.start || b.end - a.end || a.rule - b.rule);
  const merged: SecretHit[] = [];
  for (const h of hits) {
    const last = merged.at(-1);
    if (last && h.start < last.end) last.end = Math.max(last.end, h.end);
    else merged.push({ start: h.start, end: h.end, mask: h.mask });
  }
  return merged;
}

/** Masks secret-shaped strings, and says which masks it used how often (for `sanitize`'s log). */
export function maskSecretsCounted(text: string): { text: string; masks: Map<string, number> } {
  const masks = new Map<string, number>();
  const hits = findSecrets(text);
  if (!hits.length) return { text, masks };
  let out = "";
  let at = 0;
  for (const h of hits) {
    out += text.slice(at, h.start) + h.mask;
    at = h.end;
    masks.set(h.mask, (masks.get(h.mask) ?? 0) + 1);
  }
  return { text: out + text.slice(at), masks };
}

/**
 * Masks secret-shaped strings (GitHub, Anthropic, OpenAI-style, AWS, Slack tokens, JWTs, private
 * keys and headerless PEM bodies, URLs with a password, Authorization header values, base64 that
 * decodes to a credential). Idempotent. Git shas, UUIDs and prose pass unchanged.
 */
export function maskSecrets(text: string): string {
  return maskSecretsCounted(text).text;
}

/** `maskSecrets` on every string in a JSON-like value (a tool call's input), keys included. */
export function maskSecretsIn<T>(value: T): T {
  if (typeof value === "string") return maskSecrets(value) as T;
  if (Array.isArray(value)) return value.map((v) => maskSecretsIn(v)) as T;
  if (value && typeof value === "object" && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [maskSecrets(k), maskSecretsIn(v)])) as T;
  }
  return value;
}

// ---------------------------------------------------------------------------------------------
// Model-written markdown
// ---------------------------------------------------------------------------------------------

export interface NeutralizeOptions {
  /** The issue this text may close (`Closes #7`); closing keywords aimed at anything else are defused. */
  allowIssue?: number;
}

/**
 * Makes model-written markdown safe to post:
 * - `@user` and `@org/team` mentions are wrapped in inline code (`` `@user` ``, or `<code>` where
 *   the line may be raw HTML), so nobody is pinged; emails (`a@b.com`) are left alone, and in a URL
 *   the `@` becomes `%40` (`https://www.npmjs.com/package/%40types/node` still works);
 * - closing keywords (`fixes #12`, `Closes owner/repo#3`, `resolved GH-4`, `fixed https://…/issues/5`)
 *   become `refs …`, but for `#allowIssue`;
 * - images (`![alt](url)`, reference-style `![alt][ref]`, `<img>`, `<source>`, `<video>`, `<audio>`,
 *   `<iframe>`, `<embed>`, `<object>`) become `(image removed: host)` (`video`, `embedded page`…),
 *   which keeps nothing of the URL but its host;
 * - raw HTML tags are removed, but for `details`, `summary`, `br`, `sub`, `sup`, `kbd`, `code`,
 *   `b`, `i`, `em`, `strong` (without attributes, but for `<details open>`); `<pre>` is not kept,
 *   since markdown is not parsed inside it (a fence does the same job); a `<` that starts no tag
 *   becomes `&lt;`;
 * - code (fences, inline code spans) is left as it is: nothing in it pings, closes or loads.
 *
 * So that what this reads as code is what GitHub reads as code, the output is made unambiguous: a
 * backtick that opens no code span on its line is escaped, an unclosed fence is closed, an
 * unterminated HTML comment is escaped. Idempotent: the pass runs until nothing changes (removing
 * a tag can make a new construct appear, `<im<x>g …>`).
 */
export function neutralizeMarkdown(text: string, opts: NeutralizeOptions = {}): string {
  let out = text;
  for (let pass = 0; pass < 8; pass++) {
    const next = neutralizePass(out, opts);
    if (next === out) return out;
    out = next;
  }
  return asCodeBlock(text); // never seen: a fenced block is inert whatever it holds
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

interface Fence {
  char: string;
  len: number;
  indent: number;
}

interface InlineContext {
  allowIssue?: number;
  /** Link reference definitions, for reference-style images. */
  refs: Map<string, string>;
  /** The text has a table: `|` splits cells before code spans are found. */
  tables: boolean;
}

function neutralizePass(text: string, opts: NeutralizeOptions): string {
  const lines = text.split("\n");
  const ctx: InlineContext = { allowIssue: opts.allowIssue, refs: referenceDefinitions(lines), tables: lines.some(isDelimiterRow) };
  const out: string[] = [];
  let fence: Fence | undefined;
  let html = false; // in an HTML block: raw HTML until a blank line
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (fence) {
      if (closesFence(line, fence)) {
        out.push(line);
        fence = undefined;
        continue;
      }
      // an indented fence inside a list item ends with the item: close it where this may happen
      if (!(fence.indent > 0 && line.trim() && indentOf(line) < fence.indent)) {
        out.push(line);
        continue;
      }
      out.push(" ".repeat(fence.indent) + fence.char.repeat(fence.len));
      fence = undefined;
    }
    if (!line.trim()) {
      html = false;
      out.push(line);
      continue;
    }
    const opener = openFence(line);
    if (opener && html) {
      out.push(line.replace(/^( {0,3})([`~])/, "$1\\$2")); // not a fence in raw HTML: keep it so
      continue;
    }
    if (opener) {
      fence = opener;
      out.push(line);
      continue;
    }
    if (!html && /^ {0,3}<!--/.test(line)) {
      // an HTML comment block: hidden up to the line with `-->`, raw HTML after it on that line
      const at = line.indexOf("<!--");
      let j = i;
      let end = line.indexOf("-->", at + 2);
      if (end < 0 && !line.includes("--", at + 4)) {
        // (a `--` before the `-->` makes it no comment: stop there, so this stays linear)
        for (let k = i + 1; k < lines.length; k++) {
          const dashes = lines[k]!.indexOf("--");
          if (dashes >= 0 && lines[k]!.startsWith("-->", dashes)) [j, end] = [k, dashes];
          if (dashes >= 0) break;
        }
      }
      const block = end < 0 ? undefined : [...lines.slice(i, j), lines[j]!.slice(0, end + 3)].join("\n");
      if (block !== undefined && validComment(block.slice(at))) {
        const rest = lines[j]!.slice(end + 3);
        out.push(defuseKeywords(block, ctx) + inline(rest, false, ctx));
        i = j;
        continue;
      }
      // not a comment GitHub would hide: it is text, and inline() escapes its `<`
    }
    const bare = line.replace(CONTAINER_PREFIX, "");
    if (HTML_BLOCK_TAG.test(bare) || LONE_TAG.test(bare)) html = true;
    // a line starting with a tag or comment (in a list item or quote too) may be raw HTML
    out.push(inline(line, !html && !bare.startsWith("<"), ctx));
  }
  if (fence) {
    const closer = " ".repeat(fence.indent) + fence.char.repeat(fence.len);
    if (out.at(-1) === "") out.splice(out.length - 1, 0, closer);
    else out.push(closer);
  }
  return out.join("\n");
}

function indentOf(line: string): number {
  let n = 0;
  for (const c of line) {
    if (c === " ") n++;
    else if (c === "\t") n += 4 - (n % 4);
    else break;
  }
  return n;
}

function openFence(line: string): Fence | undefined {
  const m = /^( {0,3})(`{3,}|~{3,})(.*?)\r?$/.exec(line);
  if (!m || (m[2]![0] === "`" && m[3]!.includes("`"))) return undefined;
  return { char: m[2]![0]!, len: m[2]!.length, indent: m[1]!.length };
}

function closesFence(line: string, fence: Fence): boolean {
  const m = /^ {0,3}(`+|~+)[ \t]*\r?$/.exec(line);
  return !!m && m[1]![0] === fence.char && m[1]!.length >= fence.len;
}

function isDelimiterRow(line: string): boolean {
  return line.includes("|") && /^ {0,3}\|?[ \t]*:?-+:?[ \t]*(?:\|[ \t]*:?-+:?[ \t]*)*\|?[ \t]*\r?$/.test(line);
}

function referenceDefinitions(lines: string[]): Map<string, string> {
  const refs = new Map<string, string>();
  for (const line of lines) {
    const m = /^ {0,3}\[((?:[^\\\]]|\\.){1,999})\]:[ \t]*<?([^\s>]*)>?/.exec(line);
    if (m) refs.set(normalizeLabel(m[1]!), m[2]!);
  }
  return refs;
}

function normalizeLabel(label: string): string {
  return label.trim().replace(/\s+/g, " ").toLowerCase();
}

/** GitHub's (cmark's) comment: no `--` inside, not starting with `>` or `->`, not ending in `-`. */
function validComment(comment: string): boolean {
  const body = comment.slice(4, -3);
  return !/^-?>/.test(body) && !body.includes("--") && !body.endsWith("-");
}

/** List markers and blockquote markers before a line's content. */
const CONTAINER_PREFIX = /^(?:[ \t]*(?:>|[-+*](?=[ \t])|\d{1,9}[.)](?=[ \t])))*[ \t]*/;
const ALLOWED_TAGS = ["details", "summary", "br", "sub", "sup", "kbd", "code", "b", "i", "em", "strong"];
/** A line starting an HTML block (CommonMark type 6, of the kept tags): markdown stops until a blank line. */
const HTML_BLOCK_TAG = /^<\/?(?:details|summary)(?=[\s/>]|$)/i;
/** A kept tag alone on its line starts one too (type 7). */
const LONE_TAG = new RegExp(String.raw`^<\/?(?:${ALLOWED_TAGS.join("|")})(?:\s[^<>]*)?\/?>\s*$`, "i");
const ALLOWED = new Set(ALLOWED_TAGS);
const MEDIA: Record<string, string> = {
  img: "image", image: "image", source: "image", video: "video", audio: "audio",
  iframe: "embedded page", frame: "embedded page", embed: "embedded content", object: "embedded content",
};
/** Tags whose content goes with them (GitHub would not show it either). */
const DROP_CONTENT = new Set(["script", "style", "textarea", "title", "noscript", "template", "xmp", "noembed", "noframes"]);
const ATTRIBUTE = String.raw`(?:\s+[A-Za-z_:][A-Za-z0-9_.:-]*(?:\s*=\s*(?:[^\s"'=<>\x60]+|'[^']*'|"[^"]*"))?)`;
const TAG = new RegExp(String.raw`<(?:([A-Za-z][A-Za-z0-9-]*)(${ATTRIBUTE}*)\s*(\/?)>|\/([A-Za-z][A-Za-z0-9-]*)\s*>)`, "y");
const AUTOLINK = /<(?:[A-Za-z][A-Za-z0-9+.-]{1,31}:[^\s<>\p{Cc}]*|[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*)>/uy;
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

function defuseKeywords(text: string, ctx: InlineContext): string {
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
function inline(line: string, markdown: boolean, ctx: InlineContext): string {
  const table = ctx.tables && nextPipe(line, 0) < line.length;
  const paired = markdown ? undefined : pairedRuns(line, table);
  let out = "";
  let last = "\n"; // (out's last character, kept: indexing a string built by += flattens it)
  const emit = (text: string) => {
    if (!text) return;
    out += text;
    last = text[text.length - 1]!;
  };
  let i = 0;
  let codeUntil = -1; // inside <code>…</code>: mentions do not ping there
  let urlUntil = -1; // inside what GitHub may make a link of (see below)
  const prev = () => last;
  /** The output ends in an odd number of backslashes: what comes next is escaped in markdown. */
  const escaping = () => {
    if (last !== "\\") return false;
    let n = 0;
    while (n < out.length && out[out.length - 1 - n] === "\\") n++;
    return n % 2 === 1;
  };
  const mention = (nameAt: number): string | undefined => {
    if (ALNUM.test(prev()) || nameAt <= codeUntil) return undefined;
    MENTION_NAME.lastIndex = nameAt;
    return MENTION_NAME.exec(line)?.[0];
  };
  const wrap = (name: string, after: string | undefined) =>
    markdown && prev() !== "`" && after !== "`" ? `\`@${name}\`` : `${escaping() ? "\\" : ""}<code>@${name}</code>`;
  while (i < line.length) {
    const c = line[i]!;
    if (i >= urlUntil && /[hfw]/i.test(c)) {
      // GitHub links `http://`, `https://`, `ftp://` and `www.` up to a space or `<` (when not after
      // a letter or an open `[`) and takes everything in it, backticks and backslashes too, as part
      // of the URL. Here, whether it does or not makes no difference: a backtick in it is escaped,
      // an escape is kept whole, an `@` that could mention becomes `%40`.
      URL_START.lastIndex = i;
      if (URL_START.test(line)) {
        const stop = line.slice(i).search(/[\s<]/);
        urlUntil = stop < 0 ? line.length : i + stop;
      }
    }
    if (i < urlUntil) {
      if (c === "\\" && line[i + 1] === "@" && mention(i + 2)) {
        emit("%40");
        i += 2;
        continue;
      }
      if (c === "\\" && i + 1 < urlUntil) {
        emit(c + line[i + 1]);
        i += 2;
        continue;
      }
      if (c === "`" || c === "\\") {
        emit(c === "`" ? "\\`" : c);
        i++;
        continue;
      }
      if (c === "@" && mention(i + 1)) {
        emit("%40");
        i++;
        continue;
      }
    }
    if (markdown && c === "\\" && i + 1 < line.length && ASCII_PUNCT.test(line[i + 1]!)) {
      const name = line[i + 1] === "@" ? mention(i + 2) : undefined;
      if (name) {
        // `\@user` renders as `@user`, which pings
        emit(wrap(name, line[i + 2 + name.length]));
        i += 2 + name.length;
      } else {
        emit(c + line[i + 1]);
        i += 2;
      }
      continue;
    }
    if (!markdown && c === "\\" && line[i + 1] === "`") {
      emit("\\`");
      i += 2;
      continue;
    }
    if (!markdown && c === "`") {
      let j = i;
      while (line[j] === "`") j++;
      emit(paired!.has(i) ? line.slice(i, j) : "\\`".repeat(j - i));
      i = j;
      continue;
    }
    if (markdown && c === "`") {
      let j = i;
      while (line[j] === "`") j++;
      const close = closingRun(line, j, table ? nextPipe(line, j) : line.length, j - i);
      if (close >= 0) {
        emit(line.slice(i, close + j - i));
        i = close + j - i;
      } else {
        emit("\\`".repeat(j - i)); // opens no code span here: make sure it opens none on GitHub
        i = j;
      }
      continue;
    }
    if (c === "<") {
      if (line.startsWith("<!--", i)) {
        const end = line.indexOf("-->", i + 2);
        if (end >= 0 && validComment(line.slice(i, end + 3))) {
          emit(defuseKeywords(line.slice(i, end + 3), ctx));
          i = end + 3;
          continue;
        }
        emit("&lt;");
        i++;
        continue;
      }
      AUTOLINK.lastIndex = i;
      const link = AUTOLINK.exec(line);
      if (link) {
        emit(link[0]);
        i += link[0].length;
        continue;
      }
      TAG.lastIndex = i;
      const tag = TAG.exec(line);
      if (!tag) {
        emit("&lt;");
        i++;
        continue;
      }
      i += tag[0].length;
      const closing = tag[4] !== undefined;
      const name = (tag[1] ?? tag[4])!.toLowerCase();
      if (ALLOWED.has(name)) {
        const escaped = escaping(); // (raw HTML here, or an escaped `<` in markdown: no shelter then)
        emit(closing ? `</${name}>` : name === "details" && /\sopen\b/i.test(tag[2] ?? "") ? "<details open>" : `<${name}>`);
        if (name === "code" && !closing) {
          const end = line.toLowerCase().indexOf("</code>", i);
          const inside = end < 0 ? "" : line.slice(i, end);
          if (end >= 0 && !escaped && !inside.includes("<") && !(table && nextPipe(inside, 0) < inside.length)) codeUntil = end;
        }
      } else if (MEDIA[name]) {
        if (!closing) emit(placeholder(MEDIA[name], urlAttribute(tag[2] ?? "")));
      } else if (DROP_CONTENT.has(name) && !closing) {
        const end = line.toLowerCase().indexOf(`</${name}`, i);
        if (end >= 0) {
          const gt = line.indexOf(">", end);
          i = gt >= 0 ? gt + 1 : line.length;
        }
      }
      continue;
    }
    if (c === "!" && line[i + 1] === "[") {
      const img = image(line, i, ctx);
      if (img) {
        emit(placeholder("image", img.url));
        i = img.end;
      } else {
        // `![` that does not close on this line: escaped, so that it starts no image on GitHub
        // either (in raw HTML a backslash is literal: one already there is enough)
        emit(!markdown && prev() === "\\" ? "!" : "\\!");
        i++;
      }
      continue;
    }
    if (c === "@") {
      const name = mention(i + 1);
      if (name) {
        emit(wrap(name, line[i + 1 + name.length]));
        i += 1 + name.length;
        continue;
      }
    }
    if (c === "&") {
      AT_ENTITY.lastIndex = i;
      const at = AT_ENTITY.exec(line);
      const name = at ? mention(i + at[0].length) : undefined;
      if (at && name) {
        emit(wrap(name, line[i + at[0].length + name.length]));
        i += at[0].length + name.length;
        continue;
      }
    }
    if (/[A-Za-z]/.test(c) && !ALNUM.test(prev())) {
      CLOSING.lastIndex = i;
      const keyword = CLOSING.exec(line);
      if (keyword) {
        emit(closingReplacement(keyword, ctx));
        i += keyword[0].length;
        continue;
      }
      let j = i + 1;
      while (j < line.length && ALNUM.test(line[j]!) && !/[hfw]/i.test(line[j]!)) j++;
      emit(line.slice(i, j));
      i = j;
      continue;
    }
    emit(c);
    i++;
  }
  return out;
}
