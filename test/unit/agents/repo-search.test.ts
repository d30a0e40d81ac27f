import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { repoSearchTools } from "../../../src/agents/tools/repo-search.js";
import { git } from "../../helpers/git.js";

function repo(): string {
  const dir = mkdtempSync(path.join(tmpdir(), "tollgate-search-"));
  git(dir, "init", "-q", "-b", "main");
  mkdirSync(path.join(dir, "src/cli"), { recursive: true });
  writeFileSync(path.join(dir, "src/cli/main.ts"), "export function main() {\n  parseArgs('--verbose');\n}\n");
  writeFileSync(path.join(dir, "src/util.ts"), "export const verbose = false;\n");
  writeFileSync(path.join(dir, "README.md"), "Use --verbose for more.\n");
  writeFileSync(path.join(dir, "untracked.ts"), "verbose\n");
  writeFileSync(path.join(dir, ".gitignore"), "ignored/\n");
  mkdirSync(path.join(dir, "ignored"));
  writeFileSync(path.join(dir, "ignored/build.ts"), "verbose\n");
  for (let i = 0; i < 30; i++) writeFileSync(path.join(dir, `src/gen${i}.ts`), `export const v${i} = "verbose";\n`);
  git(dir, "add", "src", "README.md");
  return dir;
}

describe("list and search tools", () => {
  const [list, search] = repoSearchTools(repo(), { files: 10, lines: 5, lineChars: 80 });

  it("lists tracked files under a folder, by glob, capped", async () => {
    expect(await list!.run({ path: "src/cli" })).toEqual({ content: "src/cli/main.ts", isError: false });
    const ts = await list!.run({ pattern: "src/**/*.ts" });
    expect(ts.content).toMatch(/\[… 22 more paths: narrow the path or the pattern\]$/);
    expect((await list!.run({ path: "docs" })).content).toBe("no files match");
  });

  it("sees files created during the run (untracked), but not ignored ones", async () => {
    expect((await list!.run({ pattern: "*.ts" })).content).toBe("untracked.ts");
    expect((await list!.run({ path: "ignored" })).content).toBe("no files match");
    expect((await search!.run({ query: "verbose", path: "untracked.ts" })).content).toBe("untracked.ts:1:verbose");
    expect((await search!.run({ query: "verbose", path: "ignored" })).content).toBe("no matches");
  });

  it("caps search output by characters too, however short the lines", async () => {
    const [, small] = repoSearchTools(repo(), { files: 10, lines: 100, lineChars: 80, chars: 200 });
    const out = (await small!.run({ query: "verbose" })).content;
    expect(out).toMatch(/\[… \d+ more matching lines: narrow the path or the pattern\]$/);
    expect(out.length).toBeLessThan(300);
  });

  it("searches text files as path:line:text, capped", async () => {
    const found = await search!.run({ query: "--verbose", path: "src/cli" });
    expect(found).toEqual({ content: "src/cli/main.ts:2:  parseArgs('--verbose');", isError: false });
    const many = await search!.run({ query: "verbose" });
    expect(many.content).toMatch(/\[… \d+ more matching lines: narrow the path or the pattern\]$/);
    expect((await search!.run({ query: "v[0-9]+ =", regex: true, path: "src/gen1.ts" })).content).toBe(
      'src/gen1.ts:1:export const v1 = "verbose";',
    );
    expect((await search!.run({ query: "nothing like this" })).content).toBe("no matches");
  });

  it("refuses paths outside the repository and bad input", async () => {
    expect(await list!.run({ path: "../" })).toMatchObject({ isError: true });
    expect(await search!.run({ query: "x", path: "/etc" })).toMatchObject({ isError: true });
    expect(await search!.run({ query: "x", path: ".git" })).toMatchObject({ isError: true });
    expect((await search!.run({ q: "x" })).content).toMatch(/^invalid input for search: /);
  });
});
