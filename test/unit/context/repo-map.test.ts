import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { buildRepoMap, rankFiles, taskTerms } from "../../../src/context/repo-map.js";
import { symbolsOf } from "../../../src/context/symbols.js";
import { git } from "../../helpers/git.js";

function repo(files: Record<string, string | Buffer>): string {
  const dir = mkdtempSync(path.join(tmpdir(), "tollgate-map-"));
  execFileSync("git", ["init", "-q", "-b", "main", dir]);
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    writeFileSync(path.join(dir, name), content);
  }
  git(dir, "add", "-A");
  return dir;
}

describe("symbolsOf (tree-sitter)", () => {
  it("finds top-level definitions and class members in TypeScript, with line numbers", async () => {
    const source =
      'import x from "y";\nexport function foo(a: number): void {}\nexport class Cart {\n  private items = [];\n  total(): number { return 0; }\n}\nexport interface Line { sku: string }\nconst helper = () => 1;\n';
    const symbols = await symbolsOf("cart.ts", source);
    expect(symbols?.map((s) => [s.depth, s.name, s.line])).toEqual([
      [0, "foo", 2],
      [0, "Cart", 3],
      [1, "total", 5],
      [0, "Line", 7],
      [0, "helper", 8],
    ]);
    expect(symbols?.[0]?.signature).toBe("export function foo(a: number): void {}");
  });

  it.each([
    ["a.py", "X = 1\ndef foo(x):\n  pass\n@dec\nclass A(B):\n  def m(self): pass\n", ["X", "foo", "A", "m"]],
    ["a.go", 'package x\nimport "fmt"\nfunc Foo() {}\ntype T struct{}\nfunc (t *T) M() {}\n', ["Foo", "T", "M"]],
    ["a.rs", "use std::io;\npub fn foo() {}\nstruct S { a: i32 }\nimpl S { fn m(&self) {} }\n", ["foo", "S", "S", "m"]],
    ["A.java", "package p;\npublic class A { int f; public void m() {} }\n", ["A", "m"]],
    ["a.rb", "module M\n  class C\n    def m; end\n  end\nend\n", ["M", "C"]],
    ["a.c", "#include <stdio.h>\nint foo(int a) { return a; }\nstatic void bar(void) {}\n", ["foo", "bar"]],
  ])("parses %s", async (file, source, names) => {
    expect((await symbolsOf(file, source))?.map((s) => s.name)).toEqual(names);
  });

  it("has nothing to say about a language it does not parse", async () => {
    expect(await symbolsOf("notes.txt", "def foo(): pass")).toBeUndefined();
  });

  it("survives broken source (tree-sitter recovers)", async () => {
    const symbols = await symbolsOf("broken.ts", "export function ok() {}\nexport class {{{ \nfunction later() {}\n");
    expect(symbols?.map((s) => s.name)).toContain("ok");
  });
});

describe("taskTerms", () => {
  it("puts code-looking identifiers first and drops stop words", () => {
    const terms = taskTerms("The `applyDiscount` function should round totals; see coupon_code handling in the checkout.");
    expect(terms.slice(0, 2).sort()).toEqual(["applydiscount", "coupon_code"]);
    expect(terms).not.toContain("the");
    expect(terms).not.toContain("should");
  });
});

describe("buildRepoMap", () => {
  const files: Record<string, string | Buffer> = {
    "README.md": "# shop\n",
    "src/cart.ts": "export class Cart {\n  add(item: string) {}\n  total(): number { return 0; }\n}\n",
    "src/discount.ts":
      "export function applyDiscount(total: number, code: string): number {\n  return total;\n}\nexport const COUPONS = {};\n",
    "src/users.ts": "export function login() {}\n",
    "test/discount.test.ts": 'import { applyDiscount } from "../src/discount";\n',
    "assets/logo.png": Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 1, 2, 3]),
  };
  for (let i = 0; i < 40; i++)
    files[`src/feature${i}/module${i}.ts`] = `export function feature${i}() {}\nexport function helper${i}() {}\n`;

  it("ranks the files that hold the task's identifiers first and shows their symbols", async () => {
    const dir = repo(files);
    const map = await buildRepoMap({ dir, task: "Round the result of `applyDiscount` to cents." });
    expect(map.files[0]).toBe("src/discount.ts");
    expect(map.files[1]).toBe("test/discount.test.ts");
    expect(map.text).toContain("src/discount.ts\n     1: export function applyDiscount(total: number, code: string): number {");
    expect(map.totalFiles).toBe(Object.keys(files).length);
  });

  it("puts a path the task names, and the caller's focus, first", async () => {
    const dir = repo(files);
    expect((await rankFiles(dir, "Users cannot log in: see src/users.ts")).ranked[0]).toBe("src/users.ts");
    expect((await rankFiles(dir, "Round the result of `applyDiscount`", ["src/cart.ts"])).ranked[0]).toBe("src/cart.ts");
  });

  it("stays within its token budget and says how many files it left out", async () => {
    const dir = repo(files);
    const small = await buildRepoMap({ dir, task: "Round `applyDiscount`", maxTokens: 150 });
    expect(small.tokens).toBeLessThanOrEqual(150);
    expect(small.files.length).toBeGreaterThan(0);
    expect(small.files.length).toBeLessThan(small.totalFiles);
    expect(small.text).toMatch(new RegExp(`\\(${small.totalFiles - small.files.length} more files not shown`));
    const all = await buildRepoMap({ dir, task: "Round `applyDiscount`", maxTokens: 100_000 });
    expect(all.files).toHaveLength(all.totalFiles);
    expect(all.text).toContain("(All tracked files are shown.)");
    expect(all.text).toContain("assets/logo.png\n"); // binary: listed, not parsed
  });

  it("lists a file it cannot parse by its path only", async () => {
    const dir = repo({ "big.ts": `export const data = "${"x".repeat(300 * 1024)}";\n`, "a.ts": "export function a() {}\n" });
    const map = await buildRepoMap({ dir, task: "anything" });
    expect(map.text).toContain("\nbig.ts\n");
    expect(map.text).not.toContain("data =");
  });
});
