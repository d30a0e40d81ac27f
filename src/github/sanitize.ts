/**
 * The one sanitizer for untrusted text (issue and comment bodies, titles, repo files) before it
 * reaches a prompt or is quoted back: what a human reader of the rendered issue cannot see is
 * removed, because that is where injected instructions hide, and anything shaped like a secret
 * is masked (with src/safety/secrets.ts's rules, which also cover what Tollgate posts and stores).
 * Markdown stays markdown: this is not an HTML renderer.
 */
import { maskSecretsCounted } from "../safety/secrets.js";

export { maskSecrets } from "../safety/secrets.js";

/** Format characters (zero-width, bidi controls, tags, soft hyphen) render as nothing. */
const INVISIBLE = /[\p{Cf}\u115F\u1160\u3164\uFFA0]/gu;
const HTML_COMMENT = /<!--[\s\S]*?(?:-->|$)/g;
/** An element a browser does not show: `hidden`, `display:none`, `visibility:hidden`, zero size. */
const HIDDEN_ELEMENT =
  /<([a-z][a-z0-9]*)\b[^>]*?(?:\shidden\b|style\s*=\s*["'][^"']*(?:display\s*:\s*none|visibility\s*:\s*hidden|font-size\s*:\s*0)[^"']*["'])[^>]*>[\s\S]*?<\/\1\s*>/gi;
/** Text only in attributes (alt, title, aria-label, data-*) is never seen either. */
const HIDDEN_ATTRIBUTE = /\s(?:alt|title|aria-[a-z-]+|data-[a-z-]+)\s*=\s*(?:"[^"]*"|'[^']*'|[^\s>]+)/gi;
const MARKDOWN_IMAGE_ALT = /!\[[^\]]*\]\(/g;
const MARKDOWN_LINK_TITLE = /(\]\(\s*<?[^\s)>]+>?)\s+(?:"[^"]*"|'[^']*'|\([^)]*\))\s*\)/g;

export interface SanitizeResult {
  text: string;
  /** What was removed, for the log (never the removed text itself). */
  removed: string[];
}

export function sanitize(input: string): SanitizeResult {
  const removed: string[] = [];
  let text = input.normalize("NFC");
  const strip = (pattern: RegExp, replacement: string, what: string) => {
    let count = 0;
    text = text.replace(pattern, (...args) => {
      count++;
      return typeof replacement === "string" && replacement.includes("$1") ? replacement.replace("$1", String(args[1])) : replacement;
    });
    if (count) removed.push(`${count} ${what}`);
  };
  strip(HTML_COMMENT, "", "HTML comment(s)");
  strip(INVISIBLE, "", "invisible character(s)");
  strip(HIDDEN_ELEMENT, "", "hidden element(s)");
  strip(HIDDEN_ATTRIBUTE, "", "hidden attribute(s)");
  strip(MARKDOWN_IMAGE_ALT, "![image](", "image alt text(s)");
  strip(MARKDOWN_LINK_TITLE, "$1)", "link title(s)");
  const masked = maskSecretsCounted(text);
  text = masked.text;
  for (const [mask, count] of masked.masks) removed.push(`${count} secret-shaped string(s) (${mask})`);
  return { text, removed };
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
