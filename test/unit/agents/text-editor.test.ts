import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { PathPolicy } from "../../../src/agents/tools/path-policy.js";
import { TextEditor } from "../../../src/agents/tools/text-editor.js";

let root: string;
let editor: TextEditor;

beforeAll(async () => {
  const outside = mkdtempSync(path.join(tmpdir(), "tollgate-outside-"));
  writeFileSync(path.join(outside, "secret.txt"), "TOP SECRET");
  root = path.join(mkdtempSync(path.join(tmpdir(), "tollgate-ws-")), "repo");
  mkdirSync(path.join(root, "src"), { recursive: true });
  mkdirSync(path.join(root, ".git"), { recursive: true });
  mkdirSync(path.join(root, ".github/workflows"), { recursive: true });
  mkdirSync(path.join(root, "vendor/lib"), { recursive: true });
  writeFileSync(path.join(root, ".git/config"), "[core]\n");
  writeFileSync(path.join(root, ".github/workflows/ci.yml"), "on: push\n");
  writeFileSync(path.join(root, "vendor/lib/.git"), "gitdir: ../../.git/modules/lib\n");
  writeFileSync(path.join(root, "src/app.ts"), "export const a = 1;\nexport const b = 2;\nexport const c = 3;\n");
  writeFileSync(path.join(root, "dup.txt"), "x\nsame\nsame\n");
  writeFileSync(path.join(root, "logo.png"), Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]));
  writeFileSync(path.join(root, "latin1.txt"), Buffer.from("caf\xe9 cr\xe8me\n", "latin1"));
  writeFileSync(
    path.join(root, "model.bin"),
    "version https://git-lfs.github.com/spec/v1\noid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\nsize 12345\n",
  );
  // 50 MB of text lines
  const line = `${"y".repeat(99)}\n`;
  writeFileSync(path.join(root, "big.log"), line.repeat(500_000));
  symlinkSync(path.join(outside, "secret.txt"), path.join(root, "link-out"));
  symlinkSync(outside, path.join(root, "dir-out"));
  symlinkSync(path.join(outside, "nothing-here"), path.join(root, "dangling"));
  symlinkSync("src/app.ts", path.join(root, "link-in"));
  editor = new TextEditor(await PathPolicy.create(root, [".github/workflows/**"]));
});

const run = (input: unknown) => editor.run(input);

describe("path policy through the text editor", () => {
  it.each([
    ["../etc/passwd", "view", /is outside the repository/],
    ["src/../../outside.txt", "view", /is outside the repository/],
    ["/etc/passwd", "view", /absolute paths are not allowed/],
    ["/proc/self/environ", "view", /absolute paths are not allowed/],
    ["link-out", "view", /leads outside the repository \(through a symlink\)/],
    ["dir-out/secret.txt", "view", /leads outside the repository/],
    ["dangling", "create", /is a symlink to a missing target/],
    [".git/config", "view", /inside .git, which agents may not touch/],
    ["src/../.git/config", "view", /inside .git/],
    [".github/workflows/x.yml", "create", /\.github\/workflows\/x\.yml is a protected path/],
  ])("refuses %s (%s) with an error result", async (p, command, message) => {
    const input = command === "view" ? { command, path: p } : { command, path: p, file_text: "pwned" };
    const outcome = await run(input);
    expect(outcome.isError).toBe(true);
    expect(outcome.content).toMatch(message);
    expect(outcome.content).not.toContain("TOP SECRET");
  });

  it("reads a protected file, and follows a symlink that stays inside", async () => {
    expect((await run({ command: "view", path: ".github/workflows/ci.yml" })).content).toContain("on: push");
    expect((await run({ command: "view", path: "link-in" })).content).toContain("export const a = 1;");
  });
});

describe("text editor", () => {
  it("views a file with line numbers, and a line range", async () => {
    expect((await run({ command: "view", path: "src/app.ts" })).content).toBe(
      "     1\texport const a = 1;\n     2\texport const b = 2;\n     3\texport const c = 3;\n     4\t",
    );
    expect((await run({ command: "view", path: "src/app.ts", view_range: [2, 2] })).content).toBe("     2\texport const b = 2;");
  });

  it("lists a directory two levels deep, hiding .git and naming submodules", async () => {
    const { content } = await run({ command: "view", path: "." });
    expect(content).toContain("src/app.ts");
    expect(content).toContain("vendor/lib/ (git submodule: not checked out here)");
    expect(content).not.toMatch(/^\.git\//m);
  });

  it("describes what it does not dump: a 50 MB file, a binary, Latin-1, a Git LFS pointer", async () => {
    expect((await run({ command: "view", path: "big.log" })).content).toBe(
      "big.log is 47.7 MB, too large to show whole: view a line range (view_range) instead",
    );
    const range = await run({ command: "view", path: "big.log", view_range: [499_999, 500_000] });
    expect(range.content.split("\n")).toHaveLength(2);
    expect(range.content).toMatch(/^499999\ty{99}\n500000\ty{99}$/);
    expect((await run({ command: "view", path: "logo.png" })).content).toBe("logo.png is a binary file (12 bytes): not shown");
    expect((await run({ command: "view", path: "latin1.txt" })).content).toMatch(/^latin1\.txt is not UTF-8 text/);
    expect((await run({ command: "view", path: "model.bin" })).content).toBe(
      "model.bin is a Git LFS pointer (object 4d7a214614ab…): the real file is not in the checkout",
    );
    const edit = await run({ command: "str_replace", path: "latin1.txt", old_str: "caf", new_str: "x" });
    expect(edit).toMatchObject({ isError: true });
  });

  it("replaces a unique string, and refuses a missing or ambiguous one", async () => {
    expect(await run({ command: "str_replace", path: "src/app.ts", old_str: "const b = 2", new_str: "const b = 20" })).toMatchObject({
      isError: false,
    });
    expect(readFileSync(path.join(root, "src/app.ts"), "utf8")).toContain("export const b = 20;");
    expect((await run({ command: "str_replace", path: "src/app.ts", old_str: "const z", new_str: "" })).content).toMatch(
      /old_str was not found/,
    );
    expect((await run({ command: "str_replace", path: "dup.txt", old_str: "same", new_str: "x" })).content).toBe(
      "old_str occurs 2 times in dup.txt: include more surrounding lines so that it is unique",
    );
  });

  it("creates files (with their folders) and inserts lines", async () => {
    expect(await run({ command: "create", path: "src/new/util.ts", file_text: "export {};\n" })).toMatchObject({
      isError: false,
      content: "created src/new/util.ts (2 lines)",
    });
    expect(await run({ command: "insert", path: "src/new/util.ts", insert_line: 0, insert_text: "// header" })).toMatchObject({
      isError: false,
    });
    expect(readFileSync(path.join(root, "src/new/util.ts"), "utf8")).toBe("// header\nexport {};\n");
    expect((await run({ command: "insert", path: "src/new/util.ts", insert_line: 99, insert_text: "x" })).content).toMatch(/past the end/);
  });

  it("answers invalid input with an error result instead of throwing", async () => {
    expect((await run({ command: "delete", path: "src/app.ts" })).isError).toBe(true);
    expect((await run({ command: "view" })).content).toMatch(/^invalid input for str_replace_based_edit_tool: /);
    expect((await run({ command: "view", path: "nope.ts" })).content).toBe("nope.ts does not exist");
  });
});
