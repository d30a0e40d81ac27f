/**
 * `neutralizeMarkdown` on markdown-it's reading of the text (src/safety/markdown.ts): the cases of
 * the issue that moved it off the hand-written scanner, and a differential test that renders each
 * output with markdown-it and looks at the HTML a reader would get.
 */
import MarkdownIt from "markdown-it";
import { forGitHub, neutralizeEdits, neutralizeMarkdown, type Edit } from "../../../src/safety/markdown.js";
import { parseSource } from "../../../src/safety/markdown-source.js";

const md = new MarkdownIt("default", { html: true, linkify: false });

const MEDIA_TAG = /<(?:img|image|video|audio|source|picture|iframe|frame|embed|object|script|style|svg)\b/i;
const MENTION = /(?<![A-Za-z0-9])@[A-Za-z0-9]/;
const CLOSING =
  /(?<![A-Za-z0-9])(?:close[sd]?|fix(?:e[sd])?|resolve[sd]?)[\s:]*(?:#(\d+)|gh-(\d+)|[\w.-]+\/[\w.-]+#\d+|https?:\/\/[\w.-]+\/[\w.-]+\/[\w.-]+\/(?:issues|pull)\/\d+)/gi;
const ENTITIES: Record<string, string> = { lt: "<", gt: ">", amp: "&", quot: '"', commat: "@" };

/**
 * What a reader of markdown-it's rendering would be pinged by, closed by, or loaded: the HTML
 * checked for media tags, then its text (comments, `<code>`, `<pre>` and links taken out, as
 * GitHub's mention filter skips them; tags removed; entities decoded) for mentions and closing
 * keywords aimed at anything but `allowIssue`.
 */
function renderedProblems(posted: string, allowIssue?: number): string[] {
  const html = md.render(posted);
  const problems: string[] = [];
  const media = MEDIA_TAG.exec(html);
  if (media) problems.push(`loads something: ${media[0]}`);
  const text = html
    .replace(/<!--[\s\S]*?-->/g, " ")
    .replace(/<(code|pre|a)\b[^>]*>[\s\S]*?<\/\1>/gi, " ")
    .replace(/<[^>]*>/g, " ")
    .replace(/&(?:#(\d+)|#x([0-9a-f]+)|(\w+));/gi, (m, dec?: string, hex?: string, name?: string) =>
      dec ? String.fromCodePoint(Number(dec)) : hex ? String.fromCodePoint(parseInt(hex, 16)) : (ENTITIES[name!.toLowerCase()] ?? m),
    );
  const mention = MENTION.exec(text);
  if (mention) problems.push(`a mention: …${text.slice(Math.max(0, mention.index - 12), mention.index + 12)}…`);
  for (const m of text.matchAll(CLOSING)) {
    const n = m[1] ?? m[2];
    if (n === undefined || Number(n) !== allowIssue) problems.push(`a closing keyword: ${m[0]}`);
  }
  return problems;
}

/** Inputs that render something dangerous as they are: each must render nothing dangerous once neutralised. */
const DANGEROUS = [
  // the issue's cases
  "<div hidden><div>@x</div></div>",
  "a <span hidden>@x <span>fixes #3</span>",
  "<details hidden><summary>@x</summary>hi</details>",
  "x <script>\n@a\n</script> y fixes #9",
  "<script>@a",
  "<style>\n\np { color: red }\n\n</style>\n\n@after",
  '[r]: https://e.example/@a "@x fixes #3"\n\n[see][r] @y',
  "[^1]: @x fixes #2\n\n    @y",
  "<https://e.example/@a> and <a@b.com> but @c",
  "www.e.example/@a and https://e.example/`@b` and www.e.example/`x @d` y",
  "**Fixes** #3 and _closes_: #4, Fixes\n#5, fixes \\#6",
  "<!-- @user fixes #3 --> @shown",
  "@&#97;dmin fi&#120;es #8",
  // what the existing tests hold
  "@octocat please look, cc @github/security.",
  "\\@octocat and &#64;hubot and &commat;x",
  "See https://www.npmjs.com/package/@types/node.",
  "<details><summary>for @octocat</summary>\nhi @hubot\n\nafter @x",
  "Fixes #99. closes owner/repo#3, RESOLVED: GH-4, fixed https://github.com/o/r/issues/5 and Closes #7.",
  "It fixes **#12** and prefixes #3, fixes the bug.",
  "Look: ![x](https://evil.example/p.png?d=secret) done",
  "![chart][c] and ![c]\n\n[c]: https://cdn.example/c.svg",
  '<img src="https://t.example/pixel.gif?u=1" width=1> <picture><source srcset="//s.example/a.webp 2x"></picture>',
  '<video src="https://v.example/x.mp4"></video><iframe src="https://f.example/"></iframe>',
  "[![badge](https://b.example/b.svg)](https://ci.example)",
  "![a\nb](https://evil.example/p.png)",
  "a ` b @x",
  "x <!--a@b.com> &commat;y-->",
  "<b>x```<!--```@z -->",
  "</details>[x](https://e.example)**a@b.com\\@hubot",
  "<b>www.e.example/@z#\\fix **#5**>",
  // containers, tables, fences
  "- ```\n  code\n\nafter @y",
  "> ```\n> @x\nafter @z",
  "1. ```\n@inside",
  "| a | b |\n|---|---|\n| `x | @y` | z \\| `@w` |",
  "| a | b |\n|---|---|\n| ![i](https://e.example/i.png) | @q fixes #1 |",
  "- <div>\n  @x\n  </div>\n- `@ok` @no",
  "> <details>\n> @x\n\n> `@ok` @no",
  "<?php @x ?> @y <!DOCTYPE html> <![CDATA[@z]]>",
];

/** Inputs markdown-it renders harmlessly as they are (GitHub may not, or a pass may make them dangerous). */
const TRICKY = [
  '[@x](https://e.example/@y "@z") and [t](/u/@w)',
  "x <!-- a -- @y --> z",
  "<!-- a -- @z -->",
  "<im<x>g src=https://evil.example/p.png>",
  "<im<script></script>g src=https://evil.example/p.png>",
  "</details><https://www.npmjs.com/package/@types/node>",
  "<pre>\n@x\n</pre>",
  "`a` `` ` `` ```` ``` ````",
];

describe("neutralizeMarkdown on markdown-it's structure", () => {
  it("shows what a hidden element held, neutralised, and drops what <script> and <style> hold", () => {
    expect(neutralizeMarkdown("<div hidden><div>@x</div></div>")).toBe("<code>@x</code>");
    expect(neutralizeMarkdown("a <span hidden>@x <span>fixes #3</span>")).toBe("a `@x` refs #3");
    // an allowed tag keeps none of its attributes
    expect(neutralizeMarkdown("<details hidden><summary>@x</summary>hi</details>")).toBe(
      "<details><summary><code>@x</code></summary>hi</details>",
    );
    // over lines of one paragraph, nested, and to the end of an HTML block
    expect(neutralizeMarkdown("x <script>\n@a\n</script> y")).toBe("x  y");
    expect(neutralizeMarkdown("<script><script>@a</script>@b</script>")).toBe("");
    expect(neutralizeMarkdown("<style>\n\np { @x }\n\n</style>\nafter")).toBe("\nafter");
    // unclosed: the tag goes, and what follows is text like any other
    expect(neutralizeMarkdown("<script>@a")).toBe("<code>@a</code>");
    expect(neutralizeMarkdown("<textarea>\n@x\n\n</textarea>")).toBe("");
    expect(neutralizeMarkdown("<?php @x ?> and <!DOCTYPE html> <![CDATA[@y]]>")).toBe(" and  ");
  });

  it("keeps comments GitHub hides (their keywords defused) and shows those it would not", () => {
    expect(neutralizeMarkdown("<!-- @user fixes #3 -->\n\ntext <!-- @u --> y")).toBe("<!-- @user refs #3 -->\n\ntext <!-- @u --> y");
    // cmark (CommonMark 0.29) takes no `--` inside a comment, nor `<!-->`: GitHub shows those as text
    expect(neutralizeMarkdown("<!-- a -- @x -->")).toBe("&lt;!-- a -- <code>@x</code> -->");
    expect(neutralizeMarkdown("x <!-- a -- @x --> y")).toBe("x &lt;!-- a -- `@x` --> y");
    expect(neutralizeMarkdown("<!-->@x")).toBe("&lt;!--><code>@x</code>");
    // a comment block that its list item ends before its `-->`: what follows is a paragraph (found by fuzzing)
    expect(neutralizeMarkdown("- <!-- a\n\n@x -->")).toBe("- &lt;!-- a\n\n`@x` -->");
  });

  it("reads link reference definitions and footnotes as GitHub would", () => {
    // a definition is not shown; its title and destination are attributes: `%40` there, keywords defused
    expect(neutralizeMarkdown('[r]: https://e.example/@a "@x fixes #3"\n\n[a][r]')).toBe(
      '[r]: https://e.example/%40a "%40x refs #3"\n\n[a][r]',
    );
    expect(neutralizeMarkdown('[c]: https://cdn.example/c.svg "Closes #7"', { allowIssue: 7 })).toBe(
      '[c]: https://cdn.example/c.svg "Closes #7"',
    );
    // GitHub reads `[^1]: …` as a footnote (shown, its indented continuation too), markdown-it as a
    // definition or paragraph (and the continuation as code): escaped into a paragraph for both
    expect(neutralizeMarkdown("[^1]: @x fixes #2\n\n    @y")).toBe("\\[^1]: `@x` refs #2\n\n    @y");
    expect(neutralizeMarkdown("[^1]: https://e.example/@a")).toBe("\\[^1]: https://e.example/%40a");
  });

  it("wraps mentions in link text but leaves destinations and autolinks as they are", () => {
    expect(neutralizeMarkdown('[@x](https://e.example/@y "@z") and [t](/u/@w)')).toBe('[`@x`](https://e.example/@y "@z") and [t](/u/@w)');
    expect(neutralizeMarkdown("<https://e.example/@a> <mailto:a@b.c> <a@b.com>")).toBe("<https://e.example/@a> <mailto:a@b.c> <a@b.com>");
  });

  it("percent-encodes the @ in bare URLs, and makes text of a code span GitHub's autolink would take", () => {
    expect(neutralizeMarkdown("www.e.example/@a and ftp://e.example/@b")).toBe("www.e.example/%40a and ftp://e.example/%40b");
    // GitHub links `www.e.example/\`x` (to the space), so the backtick after `@d` would open nothing
    expect(neutralizeMarkdown("www.e.example/`x @d` y")).toBe("www.e.example/\\`x `@d`\\` y");
    expect(neutralizeMarkdown("https://e.example/`@b`")).toBe("https://e.example/\\`%40b\\`");
    // a code span before the URL is code on both
    expect(neutralizeMarkdown("`https://e.example/@b` `www.x.com` `@c`")).toBe("`https://e.example/@b` `www.x.com` `@c`");
  });

  it("defuses closing keywords split by emphasis, a line break, an escape or an entity", () => {
    expect(neutralizeMarkdown("**Fixes** #3 and _closes_: #4, Fixes\n#5, fixes \\#6, fi&#120;es #8")).toBe(
      "**Refs** #3 and _refs_: #4, Refs\n#5, refs \\#6, refs #8",
    );
    expect(neutralizeMarkdown("Fixes <b>#3</b>, resolves [#4](https://e.example/4)")).toBe(
      "Refs <b>#3</b>, refs [#4](https://e.example/4)",
    );
    expect(neutralizeMarkdown("**Closes** #7 and fixes #8", { allowIssue: 7 })).toBe("**Closes** #7 and refs #8");
    expect(neutralizeMarkdown("`fixes #1` and\n\n    fixes #2")).toBe("`fixes #1` and\n\n    fixes #2");
  });

  it("sees a mention spelt with entities, and leaves emails and escaped ones alone", () => {
    expect(neutralizeMarkdown("@&#97;dmin, &#x40;&#x62;c and `@a`&#98;")).toBe("`@admin`, `@bc` and `@a`b");
    expect(neutralizeMarkdown("a\\@b.com and \\&#64;x and &#64y")).toBe("a\\@b.com and \\&#64;x and &#64y");
    // in raw HTML a backslash is a character, and an entity needs no `;`
    expect(neutralizeMarkdown("<details>\n\\@x &#64y\n</details>")).toBe("<details>\n\\<code>@x</code> <code>@y</code>\n</details>");
  });

  it("closes a fence left open inside a container, in the container", () => {
    expect(neutralizeMarkdown("- ```\n  code\n\nafter @y")).toBe("- ```\n  code\n  ```\n\nafter `@y`");
    expect(neutralizeMarkdown("> ```\n> @x\nafter")).toBe("> ```\n> @x\n> ```\nafter");
    expect(neutralizeMarkdown("1. ```\n@inside")).toBe("1. ```\n   ```\n`@inside`");
    expect(neutralizeMarkdown("````\n```\n@x")).toBe("````\n```\n@x\n````");
  });

  it("reads table cells as GitHub does: a `|` ends a cell, in a code span too", () => {
    expect(neutralizeMarkdown("| a | b |\n|---|---|\n| `x \\| @y` | ![i](http://e.example/y.png) @z |")).toBe(
      "| a | b |\n|---|---|\n| `x \\| @y` | (image removed: e.example) `@z` |",
    );
    // `` `x | @y` `` is two cells on GitHub: neither backtick pairs
    expect(neutralizeMarkdown("| a | b |\n|---|---|\n| `x | @y` |")).toBe("| a | b |\n|---|---|\n| \\`x | <code>@y</code>\\` |");
  });

  it("renders, with markdown-it, no mention, no closing keyword and nothing loaded, neutralised or posted", () => {
    const failures: string[] = [];
    for (const input of [...DANGEROUS, ...TRICKY]) {
      // (each dangerous input is a case: its raw rendering has something the check finds)
      if (DANGEROUS.includes(input) && !renderedProblems(input).length) failures.push(`nothing to find in ${JSON.stringify(input)}`);
      for (const [how, out] of [
        ["neutralised", neutralizeMarkdown(input)],
        ["posted", forGitHub(input)],
      ] as const) {
        const found = renderedProblems(out);
        if (found.length) failures.push(`${how} ${JSON.stringify(input)} → ${JSON.stringify(out)}: ${found.join("; ")}`);
        if (neutralizeMarkdown(out) !== out) failures.push(`not idempotent on ${JSON.stringify(input)}`);
      }
    }
    expect(failures).toEqual([]);
    // the check itself finds what it looks for
    expect(renderedProblems("hi @a, fixes #3 <img src=x> <code>@ok</code> [@ok](u) Closes #7", 7)).toEqual([
      "loads something: <img",
      expect.stringMatching(/^a mention: .*@a/),
      "a closing keyword: fixes #3",
    ]);
  });

  it("trusts nothing markdown-it read in content it could not place, and adds no markup there", () => {
    // (no input is known to make `parseSource` fail to place a block: one is made so by hand)
    const doc = parseSource("a `@x` <b>y</b> ![i](https://e.example/i.png) @z fixes #3 \\@w");
    doc.unplaced.push({ start: 0, end: doc.src.length });
    const apply = (src: string, edits: Edit[]) =>
      [...edits].sort((a, b) => b.start - a.start).reduce((out, e) => out.slice(0, e.start) + e.text + out.slice(e.end), src);
    const out = apply(doc.src, neutralizeEdits(doc, undefined));
    expect(out).toBe("a \\`%40x\\` &lt;b>y&lt;/b> \\![i](https://e.example/i.png) %40z refs #3 \\%40w");
    // what that leaves is settled: read again (placed or not), nothing changes
    expect(neutralizeMarkdown(out)).toBe(out);
    const again = parseSource(out);
    again.unplaced.push({ start: 0, end: again.src.length });
    expect(neutralizeEdits(again, undefined)).toEqual([]);
  });

  it("leaves ordinary markdown with nothing to neutralise as it is", () => {
    const text = [
      "## Plan for `greet()`",
      "",
      "- [x] read [the docs](https://example.com/docs#flags) (see <https://example.com>)",
      "- mail ada@example.com; issue #12; `npm i @types/node`",
      "",
      "> **Note**: *emphasis*, ~~struck~~, <kbd>Ctrl</kbd>+<kbd>C</kbd>, H<sub>2</sub>O<br>",
      "",
      "| Check | Result |",
      "|---|---:|",
      "| `a \\| b` | ✅ $0.10 |",
      "",
      "    indented @code fixes #1",
      "",
      "~~~md",
      "![x](https://e.example/x.png) <script>",
      "~~~",
      "",
      "<details open>",
      "<summary>More</summary>",
      "",
      "Text &amp; more.",
      "",
      "</details>",
    ].join("\n");
    expect(neutralizeMarkdown(text)).toBe(text);
  });
});
