/**
 * The layers of docs/architecture.md, as a test: the folders of src/ each folder must not import
 * from (type-only imports too: knowing a type is knowing the layer), no cycle between files (type
 * ones included), and no cycle between folders through imports that stay in the JavaScript. A
 * failure names every offending import, `file → file`, so it says what to move. The table here
 * and the one in docs/architecture.md are checked to say the same.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { fileCycles, folderCycles, folderOf, importGraph, layerViolations, specifiersOf, type Import } from "../../helpers/import-graph.js";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));

type Rule = readonly string[] | { only: readonly string[] };

/**
 * What each folder must not import: a list of folders, or everything but a few ("only" these).
 * The foundation (config, prompts, safety, logging) imports no other folder, with two edges down
 * inside it: each may use `errors.ts`, and config refuses secret-shaped values with safety's
 * patterns where it parses them. Folders without a row may import what makes no cycle.
 */
const LAYERS: Record<string, Rule> = {
  webhooks: ["jobs", "pipeline", "phases", "agents", "llm"],
  queue: ["jobs", "commands", "pipeline", "phases", "webhooks"],
  jobs: ["agents", "webhooks", "app", "cli"],
  commands: ["webhooks", "app", "cli"],
  pipeline: ["github", "jobs", "queue", "commands", "webhooks", "app", "cli", "db"],
  phases: ["github", "queue", "jobs", "pipeline", "commands", "webhooks", "app", "cli", "db"],
  agents: ["github", "phases", "pipeline", "db"],
  context: ["github", "phases", "pipeline"],
  llm: ["phases", "agents", "pipeline", "github"],
  stores: ["agents", "phases", "pipeline", "jobs", "github"],
  db: ["stores", "agents", "phases", "pipeline", "jobs"],
  setup: ["report", "phases", "llm", "github", "queue"],
  sandbox: ["report", "phases", "llm", "github", "agents", "setup"],
  workspace: ["report", "phases", "llm", "github"],
  config: { only: ["safety", "errors.ts"] },
  prompts: { only: ["errors.ts"] },
  safety: { only: ["errors.ts"] },
  logging: { only: ["errors.ts"] },
  "errors.ts": { only: [] },
};

/**
 * Imports that break the layers in files others are changing right now: each is allowed until
 * its owner moves it, and the test fails once it is gone, so that the exception goes too.
 */
const OWNED_ELSEWHERE: string[] = [];

/** Runtime imports that close a cycle between folders, in files others are changing right now (as above). */
const OWNED_CYCLES: string[] = [];

const key = (i: Pick<Import, "from" | "to">) => `${i.from} → ${i.to}`;

/** The rules as `layerViolations` takes them: an `only` list becomes every other folder there is. */
function forbiddenIn(folders: string[]): Record<string, readonly string[]> {
  return Object.fromEntries(
    Object.entries(LAYERS).map(([folder, rule]) => [
      folder,
      "only" in rule ? folders.filter((f) => f !== folder && !rule.only.includes(f)) : rule,
    ]),
  );
}

const graph = importGraph(ROOT);
const folders = [...new Set(graph.files.map((f) => folderOf(f)))].sort();

describe("the layers of src/ (docs/architecture.md)", () => {
  it("reads every relative import of src/ to a file that exists", () => {
    expect(graph.files.length).toBeGreaterThan(100);
    expect(graph.imports.length).toBeGreaterThan(500);
    expect(graph.unresolved).toEqual([]);
  });

  it("names only folders that exist", () => {
    const named = Object.entries(LAYERS).flatMap(([f, rule]) => [f, ...("only" in rule ? rule.only : rule)]);
    expect([...new Set(named)].filter((f) => !folders.includes(f))).toEqual([]);
  });

  it("has no folder import what its layer must not know", () => {
    const found = layerViolations(graph.imports, forbiddenIn(folders));
    expect(found.filter((v) => !OWNED_ELSEWHERE.includes(v))).toEqual([]);
    // an exception whose import is gone goes with it
    expect(OWNED_ELSEWHERE.filter((v) => !found.includes(v))).toEqual([]);
  });

  it("has no cycle between files, type-only imports included", () => {
    expect(fileCycles(graph.imports)).toEqual([]);
  });

  it("has no cycle between folders through runtime imports", () => {
    const without = (kept?: string) => graph.imports.filter((i) => key(i) === kept || !OWNED_CYCLES.includes(key(i)));
    expect(folderCycles(without())).toEqual([]);
    // each exception is still needed: with it back, its cycle is back
    const needed = OWNED_CYCLES.filter((edge) => folderCycles(without(edge)).some((c) => c.imports.includes(edge)));
    expect(needed).toEqual(OWNED_CYCLES);
  });

  it("says the same as the table in docs/architecture.md", () => {
    const doc = readFileSync(`${ROOT}docs/architecture.md`, "utf8");
    // a folder is named `name/` (or `errors.ts`); "every other folder … but `a/`" is an `only` rule
    const names = (text: string) => [...text.matchAll(/`(?:src\/)?([\w-]+)\/`|`(?:src\/)?(errors\.ts)`/g)].map((m) => (m[1] ?? m[2])!);
    const documented: Record<string, Rule> = {};
    for (const line of doc.split("\n").filter((l) => l.startsWith("| `src/"))) {
      const [, layer, , notKnown] = line.split("|").map((cell) => cell.trim());
      const [name] = names(layer!);
      if (name)
        documented[name] = notKnown!.startsWith("every other folder")
          ? { only: names(notKnown!.split(" but ")[1] ?? "") }
          : names(notKnown!);
    }
    const normal = (rules: Record<string, Rule>) =>
      Object.fromEntries(Object.entries(rules).map(([f, r]) => [f, "only" in r ? { only: [...r.only].sort() } : [...r].sort()]));
    expect(normal(documented)).toEqual(normal(LAYERS));
  });
});

describe("the checker", () => {
  const at = (from: string, to: string, typeOnly = false): Import => ({ from, to, typeOnly });

  it("catches an upward import, a type-only one too", () => {
    const imports = [
      at("src/pipeline/phase.ts", "src/stores/phases.ts"),
      at("src/pipeline/new-step.ts", "src/github/issues.ts", true),
      at("src/config/env.ts", "src/llm/pricing.ts"),
      at("src/config/env.ts", "src/errors.ts"),
    ];
    const rules = { pipeline: ["github"], config: ["llm", "setup"] };
    expect(layerViolations(imports, rules)).toEqual([
      "src/config/env.ts → src/llm/pricing.ts",
      "src/pipeline/new-step.ts → src/github/issues.ts",
    ]);
  });

  it("finds a cycle between files, however long, and one of type imports", () => {
    const imports = [
      at("src/a/one.ts", "src/a/two.ts"),
      at("src/a/two.ts", "src/b/three.ts"),
      at("src/b/three.ts", "src/a/one.ts", true),
      at("src/b/three.ts", "src/b/four.ts"),
      at("src/c/self.ts", "src/c/self.ts"),
    ];
    expect(fileCycles(imports)).toEqual([["src/a/one.ts", "src/a/two.ts", "src/b/three.ts"], ["src/c/self.ts"]]);
  });

  it("finds a cycle between folders through runtime imports only, naming the imports that close it", () => {
    const imports = [
      at("src/llm/budget.ts", "src/stores/budget.ts"),
      at("src/stores/rate-limits.ts", "src/llm/token-bucket.ts"),
      at("src/stores/ledger.ts", "src/llm/model.ts", true),
      at("src/setup/setup.ts", "src/report/setup-summary.ts", true),
      at("src/report/setup-summary.ts", "src/setup/setup.ts"),
    ];
    expect(folderCycles(imports)).toEqual([
      {
        folders: ["llm", "stores"],
        imports: ["src/llm/budget.ts → src/stores/budget.ts", "src/stores/rate-limits.ts → src/llm/token-bucket.ts"],
      },
    ]);
  });

  it("catches, with the rules above, an upward import and a cycle planted in src/ as it is", () => {
    const planted = [
      ...graph.imports,
      at("src/config/env.ts", "src/llm/money.ts"),
      at("src/pipeline/new-step.ts", "src/github/issues.ts", true),
      at("src/errors.ts", "src/config/env.ts", true),
    ];
    expect(layerViolations(planted, forbiddenIn(folders))).toEqual(
      expect.arrayContaining([
        "src/config/env.ts → src/llm/money.ts",
        "src/errors.ts → src/config/env.ts",
        "src/pipeline/new-step.ts → src/github/issues.ts",
      ]),
    );
    expect(fileCycles(planted)).toContainEqual(["src/config/env.ts", "src/errors.ts"]);
  });

  it("reads imports as the compiler does, and not from comments or strings", () => {
    const text = [
      'import type { A } from "./a.js";',
      'import { type B, C } from "./b.js";',
      "import {",
      "  D,",
      '} from "./d.js";',
      'export * from "./e.js";',
      'export type { F } from "./f.js";',
      'import "./g.js";',
      'const h = await import("./h.js");',
      'type I = import("./i.js").I;',
      '// import { no } from "./comment.js";',
      "const s = \"import { no } from './string.js'\";",
      'const re = /import("[^"]*")/;',
      'const t = `import x from "./template.js" ${await import("./j.js")} ${/"/.test(s) ? `${"`"}` : ""}`;',
      "export const meta = import.meta.url;",
      'export { k } from "./k.js";',
    ].join("\n");
    expect(specifiersOf(text)).toEqual([
      { specifier: "./a.js", typeOnly: true },
      { specifier: "./b.js", typeOnly: false },
      { specifier: "./d.js", typeOnly: false },
      { specifier: "./e.js", typeOnly: false },
      { specifier: "./f.js", typeOnly: true },
      { specifier: "./g.js", typeOnly: false },
      { specifier: "./h.js", typeOnly: false },
      { specifier: "./i.js", typeOnly: true },
      { specifier: "./j.js", typeOnly: false },
      { specifier: "./k.js", typeOnly: false },
    ]);
  });
});
