/**
 * The diff a reviewer and a fix round read: wide context, the stat, and lockfiles, generated and
 * binary files named as "changed, not shown" instead of sent.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { notShown, reviewDiff, reviewDiffText } from "../../../src/workspace/review-diff.js";

function repo(): { dir: string; base: string; run: (args: string[]) => Promise<string> } {
  const dir = mkdtempSync(path.join(tmpdir(), "tollgate-review-diff-"));
  const git = (...args: string[]) => execFileSync("git", ["-C", dir, ...args], { encoding: "utf8" });
  git("init", "-q", "-b", "main");
  mkdirSync(path.join(dir, "src"));
  const lines = Array.from({ length: 30 }, (_, i) => `const line${i} = ${i};`);
  writeFileSync(path.join(dir, "src/app.js"), lines.join("\n") + "\n");
  writeFileSync(path.join(dir, "package-lock.json"), '{ "lockfileVersion": 3 }\n');
  git("add", "-A");
  git("-c", "user.name=T", "-c", "user.email=t@example.com", "commit", "-q", "-m", "base");
  const base = git("rev-parse", "HEAD").trim();
  lines[15] = "const line15 = 'changed';";
  writeFileSync(path.join(dir, "src/app.js"), lines.join("\n") + "\n");
  writeFileSync(path.join(dir, "package-lock.json"), `{ "lockfileVersion": 3, "packages": { ${'"x": 1, '.repeat(50)}"y": 2 } }\n`);
  writeFileSync(path.join(dir, "logo.png"), Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 0, 1, 2, 3, 0, 255, 254]));
  mkdirSync(path.join(dir, "dist"));
  writeFileSync(path.join(dir, "dist/app.min.js"), "var a=1;\n");
  git("add", "-A");
  git("-c", "user.name=T", "-c", "user.email=t@example.com", "commit", "-q", "-m", "change");
  return { dir, base, run: async (args) => execFileSync("git", ["-C", dir, ...args], { encoding: "utf8" }) };
}

describe("the review diff", () => {
  it("shows code with ten lines of context, and names lockfiles, generated and binary files without sending them", async () => {
    const { base, run } = repo();
    const diff = await reviewDiff(run, base);
    expect(diff.summarised).toEqual([
      { path: "dist/app.min.js", why: "generated", added: 1, deleted: 0 },
      { path: "logo.png", why: "binary" },
      { path: "package-lock.json", why: "lockfile", added: 1, deleted: 1 },
    ]);
    expect(diff.patch).toContain("diff --git a/src/app.js b/src/app.js");
    expect(diff.patch).toContain("-const line15 = 15;\n+const line15 = 'changed';");
    // ten lines either side
    expect(diff.patch).toContain(" const line5 = 5;");
    expect(diff.patch).toContain(" const line25 = 25;");
    expect(diff.patch).not.toMatch(/^ const line4 = 4;$/m);
    expect(diff.patch).not.toMatch(/package-lock|logo\.png|app\.min\.js|GIT binary patch|lockfileVersion/);
    expect(diff.stat).toContain("4 files changed");

    const text = reviewDiffText(diff, (p) => p);
    expect(text).toContain(
      [
        "Changed, not shown:",
        "- dist/app.min.js (generated, +1 −0 lines)",
        "- logo.png (binary)",
        "- package-lock.json (lockfile, +1 −1 lines)",
      ].join("\n"),
    );
    expect(text.indexOf("4 files changed")).toBeLessThan(text.indexOf("diff --git"));
  });

  it("takes the context asked for, and says when nothing changed", async () => {
    const { base, run } = repo();
    expect((await reviewDiff(run, base, 3)).patch).not.toMatch(/^ const line11 = 11;$/m);
    const head = (await run(["rev-parse", "HEAD"])).trim();
    const none = await reviewDiff(run, head);
    expect(none).toEqual({ stat: "", patch: "", summarised: [] });
    expect(reviewDiffText(none, (p) => p)).toBe("(empty: nothing changed)");
  });

  it("knows lockfiles and generated files by name, in any folder", () => {
    expect(notShown("web/yarn.lock", false)).toBe("lockfile");
    expect(notShown("go.sum", false)).toBe("lockfile");
    expect(notShown("api/gen/user.pb.go", false)).toBe("generated");
    expect(notShown("src/lock.ts", false)).toBeUndefined();
    expect(notShown("src/anything.ts", true)).toBe("binary");
  });
});
