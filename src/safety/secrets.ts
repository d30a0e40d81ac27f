/**
 * Secrets in text Tollgate lets out (every post, every stored transcript) and in untrusted text
 * going into a prompt (`sanitize()`, src/safety/sanitize.ts, masks with the same rules).
 * `maskSecrets`: secret-shaped strings become `[redacted …]`, also when they are hidden from a
 * plain pattern by a letter glued in front, invisible characters, fullwidth forms, HTML entities,
 * markdown escapes or base64.
 */

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
    pattern: new RegExp(
      String.raw`(?<![^\n])(?:${PEM_LINE}\r?\n){2,}${PEM_LINE}(?:\r?\n${PEM_PREFIX}[A-Za-z0-9+/]{1,80}={0,2}[ \t]*)?(?![^\r\n])`,
      "g",
    ),
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
  {
    pattern: /sk-[A-Za-z0-9_-]{32,}/g,
    mask: "[redacted API key]",
    accept: (m) => /\d/.test(m[0]) && /[A-Z]/.test(m[0]) && /[a-z]/.test(m[0].slice(3)),
  },
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
  const raw = block
    .split("\n")
    .map((l) => l.replace(/^[ \t]*(?:\d+\t[ \t]*)?/, "").trim())
    .filter(Boolean);
  const lines = raw.map((l) => l.replace(/^[+>][ \t]*/, ""));
  const body = lines.join("");
  if (body.length < 200) return false;
  if (/^MI[IG]/.test(body)) return true;
  // 64 wide, the line of a PEM body; a leading `+` may be a diff's marker or the line's first character
  const full = raw.slice(0, -1);
  const wide = (l: string) => l.length === 64 || (/^[+>]/.test(l) && l.replace(/^[+>][ \t]*/, "").length === 64);
  return full.length >= 3 && full.every(wide) && /[A-Z]/.test(body) && /[a-z]/.test(body) && /\d/.test(body);
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

const DECODED_SECRET =
  /x-access-token:|gh[opsur]_[A-Za-z0-9]{30}|github_pat_[A-Za-z0-9_]{40}|sk-ant-[A-Za-z0-9_-]{20}|-----BEGIN [A-Z ]*PRIVATE KEY|(?:AKIA|ASIA)[0-9A-Z]{16}|xox[abprs]-[A-Za-z0-9-]{10}/;

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
  amp: "&",
  lt: "<",
  gt: ">",
  quot: '"',
  apos: "'",
  lowbar: "_",
  UnderBar: "_",
  hyphen: "-",
  dash: "-",
  colon: ":",
  sol: "/",
  plus: "+",
  equals: "=",
  period: ".",
  commat: "@",
  num: "#",
  dollar: "$",
  percnt: "%",
};
export const ASCII_PUNCT = /^[!-/:-@[-`{-~]$/;
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
