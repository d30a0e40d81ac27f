import { generateKeyPairSync } from "node:crypto";
import { forGitHub, neutralizeMarkdown } from "../../../src/safety/markdown.js";
import { maskSecrets, maskSecretsIn } from "../../../src/safety/secrets.js";

// Made-up secrets, in the shapes the real ones have.
const TOKEN = "ghs_16C7e42F292c6912E7710c838347Ae178B4a";
const ANTHROPIC = "sk-ant-api03-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAA-BBBB";
const b64 = (s: string) => Buffer.from(s).toString("base64");
const fullwidth = (s: string) => [...s].map((c) => String.fromCodePoint(c.codePointAt(0)! + 0xfee0)).join("");

/** A PEM private key (1024-bit RSA: small and quick; its body is the shape that matters). */
function pemLines(): string[] {
  const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 1024 });
  return (privateKey.export({ type: "pkcs8", format: "pem" }) as string).trim().split("\n");
}

describe("maskSecrets: what the audit found getting through", () => {
  it("masks a token with a letter or _ glued in front", () => {
    expect(maskSecrets(`x${TOKEN}`)).toBe("x[redacted GitHub token]");
    expect(maskSecrets(`_${TOKEN}`)).toBe("_[redacted GitHub token]");
    expect(maskSecrets(`X${ANTHROPIC} and ${TOKEN}_tail`)).toBe("X[redacted Anthropic key] and [redacted GitHub token]_tail");
  });

  it("masks a token with an invisible character inside, or split up by several", () => {
    expect(maskSecrets(`token ghs_16C7e42F\u200B292c6912E7710c838347Ae178B4a here`)).toBe("token [redacted GitHub token] here");
    const split = [..."ghs_16C7e42F292c6912E7710c838347Ae178B4a"].join("\u2060").replace("42F", "4\u00AD2\uFEFF\u{E0041}F");
    const masked = maskSecrets(`a ${split} b`);
    expect(masked).toBe("a [redacted GitHub token] b");
    expect(maskSecrets(`sk-ant-\u200Dapi03-${"A".repeat(30)}`)).toBe("[redacted Anthropic key]");
  });

  it("masks fullwidth characters (NFKC), and entity- or backslash-escaped ones", () => {
    expect(maskSecrets(`see ${fullwidth(TOKEN)} there`)).toBe("see [redacted GitHub token] there");
    expect(maskSecrets("ghs&#95;16C7e42F292c6912E7710c838347Ae178B4a")).toBe("[redacted GitHub token]");
    expect(maskSecrets("ghs\\_16C7e42F292c6912E7710c838347Ae178B4a")).toBe("[redacted GitHub token]");
  });

  it("masks the base64 form of git's auth header, any Basic/Bearer value, and base64 of x-access-token", () => {
    const header = b64(`x-access-token:${TOKEN}`);
    expect(maskSecrets(`git -c http.extraheader="AUTHORIZATION: basic ${header}" fetch`)).toBe(
      'git -c http.extraheader="AUTHORIZATION: basic [redacted credentials]" fetch',
    );
    expect(maskSecrets(`Authorization: Basic ${b64("admin:hunter2")}`)).toBe("Authorization: Basic [redacted credentials]");
    expect(maskSecrets("-H 'Authorization: Bearer abcdef0123456789abcdef'")).toBe("-H 'Authorization: Bearer [redacted credentials]'");
    expect(maskSecrets(`curl -H "authorization: bearer 9f8e7d6c5b4a39281706f5e4d3c2b1a0"`)).toBe(
      `curl -H "authorization: bearer [redacted credentials]"`,
    );
    expect(maskSecrets(`the value was ${header}.`)).toBe("the value was [redacted base64 credential].");
    expect(maskSecrets(`xyz${header}`)).toBe("[redacted base64 credential]"); // misaligned by a glued prefix
  });

  it("masks a PEM private key body without its BEGIN line (best effort)", () => {
    const lines = pemLines();
    const body = lines.slice(1, -1);
    expect(maskSecrets(`the key:\n${body.join("\n")}\n-----END PRIVATE KEY-----\nend`)).toBe(
      "the key:\n[redacted private key]\n-----END PRIVATE KEY-----\nend",
    );
    // a fragment from the middle: 64-wide, mixed case, no MII
    expect(maskSecrets(`lines 5-10:\n${body.slice(4, 10).join("\n")}\n\nafter`)).toBe("lines 5-10:\n[redacted private key]\n\nafter");
    // as the text editor shows a file: line numbers and tabs
    const view = body
      .slice(0, 8)
      .map((l, i) => `${String(i + 2).padStart(6)}\t${l}`)
      .join("\n");
    expect(maskSecrets(view)).toBe("[redacted private key]");
    // on one line with escaped line breaks, as in .env or JSON
    expect(maskSecrets(`PRIVATE_KEY="${body.join("\\n")}"`)).toBe('PRIVATE_KEY="[redacted private key]"');
    // and with its header, as before
    expect(maskSecrets(lines.join("\n"))).toBe("[redacted private key]");
  });
});

describe("maskSecrets: what must survive", () => {
  it("leaves prose, git shas, UUIDs, hex digests, emails and kebab-case names alone", () => {
    const text = [
      "Fixed in da39a3ee5e6b4b0d3255bfef95601890afd80709 (short 2fd4e1c), see 2fd4e1c67a2d28fced849ee1bb76e7391b93eb12.",
      "Run 123e4567-e89b-12d3-a456-426614174000 and 0F8FAD5B-D9CB-469F-A165-70867728950E finished.",
      "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n".repeat(5),
      "A basic understanding of Bearer tokens helps; the Authorization: header is set by $GITHUB_TOKEN.",
      "Mail ada@example.com; task-queue-management-service-for-the-worker-pool and disk-usage-monitor-for-cluster-nodes-v2.",
      "AKIA is a prefix; ASIAPACIFICREGION too; eyJ alone is not a JWT; ghs_short is not a token.",
      "src/agents/tools/command.ts and ../../../src/github/sanitize.js stay; so does https://example.com/a/b?c=d.",
      "日本語のテキスト, émoji 🚀, `code`, **bold**, and ＦＵＬＬＷＩＤＴＨ words.",
    ].join("\n");
    expect(maskSecrets(text)).toBe(text);
  });

  it("is idempotent", () => {
    const text = `a ${TOKEN} b postgres://u:pw@db/x c AUTHORIZATION: basic ${b64(`x-access-token:${TOKEN}`)} d ${fullwidth(TOKEN)}\n${pemLines().join("\n")}`;
    const once = maskSecrets(text);
    expect(once).not.toContain("16C7e42F");
    expect(maskSecrets(once)).toBe(once);
  });

  it("masks every string in a tool call's input, keys and nesting included", () => {
    expect(
      maskSecretsIn({
        argv: ["git", "push", `https://x-access-token:${TOKEN}@github.com/o/r`],
        env: { [TOKEN]: 1 },
        n: 2,
        ok: true,
        none: null,
      }),
    ).toEqual({
      argv: ["git", "push", "[redacted URL with password]@github.com/o/r"],
      env: { "[redacted GitHub token]": 1 },
      n: 2,
      ok: true,
      none: null,
    });
  });
});

describe("neutralizeMarkdown (model-written markdown before it is posted)", () => {
  it("wraps @mentions in inline code, leaving emails, code and URLs working", () => {
    expect(neutralizeMarkdown("@octocat please look, cc @github/security.")).toBe("`@octocat` please look, cc `@github/security`.");
    expect(neutralizeMarkdown("Mail ada@example.com or a.b@c.org")).toBe("Mail ada@example.com or a.b@c.org");
    expect(neutralizeMarkdown("Run `npm i @types/node` then\n\n```sh\ngit blame # ask @octocat\n```")).toBe(
      "Run `npm i @types/node` then\n\n```sh\ngit blame # ask @octocat\n```",
    );
    // escaped and entity-encoded @ render as @ and would ping too
    expect(neutralizeMarkdown("\\@octocat and &#64;hubot and &commat;x")).toBe("`@octocat` and `@hubot` and `@x`");
    // in a URL the @ is percent-encoded: the link still works and nothing pings if it is not linked
    expect(neutralizeMarkdown("See https://www.npmjs.com/package/@types/node.")).toBe("See https://www.npmjs.com/package/%40types/node.");
    // in raw HTML backticks are literal: <code> there
    expect(neutralizeMarkdown("<details><summary>for @octocat</summary>\nhi @hubot\n\nafter @x")).toBe(
      "<details><summary>for <code>@octocat</code></summary>\nhi <code>@hubot</code>\n\nafter `@x`",
    );
  });

  it("turns closing keywords into refs, but for the issue it may close", () => {
    const text = "Fixes #99. closes owner/repo#3, RESOLVED: GH-4, fixed https://github.com/o/r/issues/5 and Closes #7.";
    expect(neutralizeMarkdown(text, { allowIssue: 7 })).toBe(
      "Refs #99. refs owner/repo#3, REFS: GH-4, refs https://github.com/o/r/issues/5 and Closes #7.",
    );
    expect(neutralizeMarkdown("Closes #7", {})).toBe("Refs #7");
    expect(neutralizeMarkdown("It fixes **#12** and prefixes #3, fixes the bug.")).toBe("It refs **#12** and prefixes #3, fixes the bug.");
    expect(neutralizeMarkdown("<!-- fixes #5 -->")).toBe("<!-- refs #5 -->");
  });

  it("replaces remote images (markdown, reference-style, HTML) with a placeholder that keeps no URL", () => {
    expect(neutralizeMarkdown("Look: ![x](https://evil.example/p.png?d=secret) done")).toBe("Look: (image removed: evil.example) done");
    expect(neutralizeMarkdown("![chart][c] and ![c]\n\n[c]: https://cdn.example/c.svg")).toBe(
      "(image removed: cdn.example) and (image removed: cdn.example)\n\n[c]: https://cdn.example/c.svg",
    );
    expect(
      neutralizeMarkdown('<img src="https://t.example/pixel.gif?u=1" width=1> <picture><source srcset="//s.example/a.webp 2x"></picture>'),
    ).toBe("(image removed: t.example) (image removed: s.example)");
    expect(neutralizeMarkdown('<video src="https://v.example/x.mp4"></video><iframe src="https://f.example/"></iframe>')).toBe(
      "(video removed: v.example)(embedded page removed: f.example)",
    );
    expect(neutralizeMarkdown("[![badge](https://b.example/b.svg)](https://ci.example)")).toBe(
      "[(image removed: b.example)](https://ci.example)",
    );
    // link text may run over lines (CommonMark, on GitHub too): this is an image, and goes as one
    expect(neutralizeMarkdown("![a\nb](https://evil.example/p.png)")).toBe("(image removed: evil.example)");
    // brackets split by a blank line start none: two paragraphs of text, left as they are
    expect(neutralizeMarkdown("![a\n\nb](https://evil.example/p.png)")).toBe("![a\n\nb](https://evil.example/p.png)");
  });

  it("strips raw HTML but for a small allow-list, and escapes a `<` that starts no tag", () => {
    expect(
      neutralizeMarkdown('<div align="center"><b class="x">Bold</b> <kbd>Ctrl</kbd><br/><span style="color:red">red</span></div>'),
    ).toBe("<b>Bold</b> <kbd>Ctrl</kbd><br>red");
    expect(neutralizeMarkdown("<details open>\n<summary>More</summary>\n\nText\n</details>")).toBe(
      "<details open>\n<summary>More</summary>\n\nText\n</details>",
    );
    expect(neutralizeMarkdown("a<script>alert(1)</script>b <style>p{}</style>c")).toBe("ab c");
    expect(neutralizeMarkdown("if a < b and <pre>x</pre>")).toBe("if a &lt; b and x");
    // removing a tag cannot make a new one
    expect(neutralizeMarkdown("<im<x>g src=https://evil.example/p.png>")).toBe("&lt;img src=https://evil.example/p.png>");
  });

  it("leaves code alone, and makes sure what it reads as code is what GitHub reads as code", () => {
    const code = "```html\n<img src=https://evil.example/p.png> @octocat fixes #1\n```\n\n~~~\n![x](https://e.example/x.png)\n~~~";
    expect(neutralizeMarkdown(code)).toBe(code);
    expect(neutralizeMarkdown("Use `<img>` and `@octocat` and ``a ` b``.")).toBe("Use `<img>` and `@octocat` and ``a ` b``.");
    // an unclosed fence is closed, so that it cannot swallow what follows it in a PR body
    expect(neutralizeMarkdown("```\n@x\n")).toBe("```\n@x\n```\n");
    // a lone backtick is escaped, so that it cannot pair with one further on and un-code a mention
    expect(neutralizeMarkdown("a ` b @x")).toBe("a \\` b `@x`");
    expect(`${neutralizeMarkdown("x ` y")} ${neutralizeMarkdown("@z")}`).toBe("x \\` y `@z`");
    // an unterminated comment would hide the rest of the body: it is shown instead
    expect(neutralizeMarkdown("text <!-- hidden")).toBe("text &lt;!-- hidden");
  });

  it("leaves ordinary markdown as it is, and is idempotent", () => {
    const text = [
      "## Summary",
      "",
      "Adds a `--dry-run` flag to **greet()**; see [the docs](https://example.com/docs#flags) and issue #12.",
      "",
      "1. Parse the flag.",
      "2. Skip the write when it is set.",
      "",
      "| File | Change |",
      "|---|---|",
      "| `src/cli.ts` | new flag |",
      "",
      "> Note: ada@example.com asked for it.",
      "",
      "```ts",
      "if (opts.dryRun) return;",
      "```",
      "",
      "<details><summary>Plan</summary>",
      "",
      "- step one",
      "",
      "</details>",
    ].join("\n");
    expect(neutralizeMarkdown(text)).toBe(text);
    const messy = "@a ![x](https://e.example/i.png) fixes #2 <img src=x> `code @b` ` <x> <!-- c --> \\@d";
    const once = neutralizeMarkdown(messy);
    expect(neutralizeMarkdown(once)).toBe(once);
  });

  it("reads autolinks and comments as GitHub does (found by the fuzz test)", () => {
    // `<!--a@b.com>` is an email autolink, so what follows it is text, not a comment
    expect(neutralizeMarkdown("x <!--a@b.com> &commat;y-->")).toBe("x <!--a@b.com> `@y`-->");
    // raw HTML has no autolinks: the `<` is escaped and the URL's `@` encoded
    expect(neutralizeMarkdown("</details><https://www.npmjs.com/package/@types/node>")).toBe(
      "</details>&lt;https://www.npmjs.com/package/%40types/node>",
    );
    // a backtick in a comment may close a code span, and what follows is then text: `<b>x` starts
    // no HTML block (a tag must be alone on its line for that), so the code span is code, left as
    // it is, and the mention after it (next to a backtick) is wrapped in `<code>`
    expect(neutralizeMarkdown("<b>x```<!--```@z -->")).toBe("<b>x```<!--```<code>@z</code> -->");
  });

  it("reads a backslash in a URL-like run as GitHub does (found by the fuzz test)", () => {
    // in raw HTML a backslash is a character: `\@hubot` there renders `\@hubot`, which pings
    expect(neutralizeMarkdown("</details>[x](https://e.example)**a@b.com\\@hubot")).toBe(
      "</details>[x](https://e.example)**a@b.com\\%40hubot",
    );
    // `\f` escapes nothing: `fix` after it is a word, and GitHub links no `www.` right after `>`
    expect(neutralizeMarkdown("<b>www.e.example/@z#\\fix **#5**>")).toBe("<b>www.e.example/%40z#\\refs **#5**>");
    // an escape is still kept whole
    expect(neutralizeMarkdown("see https://e.example/a\\_b\\`c")).toBe("see https://e.example/a\\_b\\`c");
  });

  it("forGitHub neutralises and masks", () => {
    expect(forGitHub(`@octocat, the token is ${TOKEN}. Fixes #3 ![p](https://e.example/p.png)`, { allowIssue: 9 })).toBe(
      "`@octocat`, the token is [redacted GitHub token]. Refs #3 (image removed: e.example)",
    );
  });
});
