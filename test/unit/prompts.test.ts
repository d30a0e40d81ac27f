import { mkdtempSync, mkdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { loadPrompt, PromptError } from "../../src/prompts/prompt.js";

function promptDir(files: Record<string, string>): string {
  const dir = mkdtempSync(path.join(tmpdir(), "tollgate-prompts-"));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    writeFileSync(path.join(dir, name), text);
  }
  return dir;
}

describe("prompts", () => {
  it("loads the gate prompt and renders it strictly, with its id, version and hash", async () => {
    const gate = await loadPrompt("gate/verdict");
    expect(gate).toMatchObject({ id: "gate.verdict", version: 2, vars: ["repo_summary", "issue"] });
    const rendered = gate.render({ repo_summary: "octo/app: TypeScript", issue: "Add a --verbose flag & <b>log</b>" });
    expect(rendered.id).toBe("gate.verdict@2");
    expect(rendered.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(rendered.text).toContain("<issue>\nAdd a --verbose flag & <b>log</b>\n</issue>"); // no HTML escaping
    expect(gate.render({ repo_summary: "octo/app: TypeScript", issue: "Add a --verbose flag & <b>log</b>" }).sha256).toBe(rendered.sha256);
  });

  it("refuses a missing or an undeclared variable", async () => {
    const gate = await loadPrompt("gate/verdict");
    expect(() => gate.render({ issue: "x" })).toThrow(new PromptError("prompt gate.verdict needs repo_summary"));
    expect(() => gate.render({ issue: "x", repo_summary: "y", mood: "z" })).toThrow("prompt gate.verdict does not take mood");
  });

  it("refuses a template that uses a variable it does not declare, or has bad front matter", async () => {
    const dir = promptDir({
      "a/undeclared.md": "---\nid: a.undeclared\nversion: 1\nvars: [x]\n---\n{{x}} and {{y}}\n",
      "a/nofront.md": "just text {{x}}\n",
      "a/badid.md": "---\nid: Not An Id\nversion: 1\n---\ntext\n",
    });
    await expect(loadPrompt("a/undeclared", dir)).rejects.toThrow(/uses y without declaring them in vars/);
    await expect(loadPrompt("a/nofront", dir)).rejects.toThrow(/has no front matter/);
    await expect(loadPrompt("a/badid", dir)).rejects.toThrow(/front matter id must be a lower-case id/);
  });
});
