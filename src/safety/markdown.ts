/**
 * Model-written markdown about to be posted (PR bodies, comments, review-thread replies):
 * - `neutralizeMarkdown`: it cannot ping anyone, close an issue other than the run's own, load a
 *   remote image or carry raw HTML (text Tollgate writes itself may mention people on purpose);
 * - `forGitHub`: neutralised and its secrets masked (src/safety/secrets.ts).
 */
import {
  CONTAINER_PREFIX,
  defuseKeywords,
  HTML_BLOCK_TAG,
  inline,
  LONE_TAG,
  normalizeLabel,
  validComment,
  type InlineContext,
} from "./markdown-inline.js";
import { maskSecrets } from "./secrets.js";

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

/** List markers and blockquote markers before a line's content. */
