import { readFileSync } from "node:fs";
import { parseRepoConfig, RepoConfigError } from "../../../src/config/repo-config.js";
import { renderSchema, SCHEMA_FILE } from "../../../src/config/write-schema.js";
import { parse as parseYaml } from "yaml";

function problemsOf(raw: unknown): string[] {
  try {
    parseRepoConfig(raw);
  } catch (error) {
    expect(error).toBeInstanceOf(RepoConfigError);
    return (error as RepoConfigError).problems;
  }
  throw new Error("expected a RepoConfigError");
}

describe("repo config", () => {
  it("applies every default to a missing or empty file", () => {
    const config = parseRepoConfig(undefined);
    expect(config).toEqual({
      trigger: { label: "ai-ready" },
      // the current models (Anthropic's models overview, stored copy read 2026-11-30): Opus 5.5, Sonnet 5.5, Haiku 5.5
      tiers: { deep: "claude-opus-5-5", standard: "claude-sonnet-5-5", light: "claude-haiku-5-5" },
      phases: { gate: "deep", plan: "deep", execute: "standard", review: "standard", verify: "light" },
      fallbacks: { deep: [], standard: [], light: [] },
      budget: { run_usd: 5, phase_usd: {} },
      loop: { max_iterations: 3 },
      concurrency: 2,
      revise: { quiet_seconds: 60 },
      setup: { timeout_seconds: 900 }, // commands absent: detected from the repository (src/setup/detect.ts)
      verify: { timeout_seconds: 600 },
      env: {}, // commands get a hosted runner's environment and nothing more (src/sandbox/process.ts)
      toolchain: {}, // the Node the project's own files ask for, or the host's (src/setup/node-toolchain.ts)
      commands: { allow: [] },
      paths: { protected: [] }, // added to the built-in .github/workflows/** and .git, never replacing them
    });
    expect(parseRepoConfig({})).toEqual(config);
  });

  it("accepts the documented example and keeps defaults for what it leaves out", () => {
    const config = parseRepoConfig(
      parseYaml(`
trigger:
  label: tollgate
tiers:
  standard: claude-sonnet-4-6
phases:
  review: deep
budget:
  run_usd: 2.5
verify:
  commands:
    - [npm, test]
commands:
  allow:
    - [npm, test]
    - [npm, run, lint]
`),
    );
    expect(config.trigger.label).toBe("tollgate");
    expect(config.phases).toMatchObject({ review: "deep", gate: "deep", verify: "light" });
    expect(config.budget).toEqual({ run_usd: 2.5, phase_usd: {} });
    expect(config.verify.commands).toEqual([["npm", "test"]]);
    expect(config.tiers).toEqual({ deep: "claude-opus-5-5", standard: "claude-sonnet-4-6", light: "claude-haiku-5-5" });
  });

  it("rejects unknown keys at any depth, quoting the key", () => {
    expect(problemsOf({ trigger: { lable: "x" } })).toEqual(["`trigger.lable`: unknown key"]);
    expect(problemsOf({ budgets: { run_usd: 1 } })).toEqual(["`budgets`: unknown key"]);
  });

  it("says what is wrong with a bad value and where", () => {
    expect(problemsOf({ phases: { gate: "huge" } })[0]).toMatch(/^`phases.gate`: .*"deep"/);
    expect(problemsOf({ budget: { run_usd: -5 } })).toEqual(["`budget.run_usd`: must be more than 0"]);
    expect(problemsOf({ verify: { commands: ["npm test"] } })[0]).toMatch(/^`verify.commands.0`: /);
    expect(problemsOf({ concurrency: 2.5 })[0]).toMatch(/^`concurrency`: /);
    expect(problemsOf("just a string")[0]).toMatch(/^`\(top level\)`: /);
  });

  it("reports every problem, not just the first", () => {
    const error = (() => {
      try {
        parseRepoConfig({ loop: { max_iterations: 0 }, colour: "red" });
      } catch (e) {
        return e as RepoConfigError;
      }
    })();
    expect(error?.problems).toHaveLength(2);
    expect(error?.message).toMatch(/^\.github\/tollgate\.yml is invalid: /);
  });

  it("has a committed JSON Schema that matches the zod schema (run `npm run schema` when this fails)", () => {
    expect(readFileSync(SCHEMA_FILE, "utf8")).toBe(renderSchema());
    const schema = JSON.parse(renderSchema());
    expect(schema.additionalProperties).toBe(false);
    expect(Object.keys(schema.properties)).toEqual(
      expect.arrayContaining(["trigger", "tiers", "phases", "budget", "loop", "concurrency", "setup", "verify", "commands", "paths"]),
    );
  });
});
