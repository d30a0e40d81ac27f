/** The greeter project and the scripted agents that work on it, for end-to-end tests. */
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { ScriptStep } from "../../src/llm/scripted-model.js";
import { git } from "./git.js";
import { TEST_TIERS } from "./llm.js";

export const TITLE = "greet() should say hi, not hello";

/** A small Node project in a bare repository: a function, its test, a README, and `files` (path → content) when given. */
export function project(files: Record<string, string> = {}): { bare: string; seed: string } {
  const base = mkdtempSync(path.join(tmpdir(), "tollgate-e2e-"));
  const bare = path.join(base, "Hello-World.git");
  const seed = path.join(base, "seed");
  execFileSync("git", ["init", "-q", "--bare", "-b", "main", bare]);
  git(bare, "config", "uploadpack.allowFilter", "true");
  git(bare, "config", "uploadpack.allowAnySHA1InWant", "true");
  git(bare, "config", "http.receivepack", "true");
  execFileSync("git", ["init", "-q", "-b", "main", seed]);
  mkdirSync(path.join(seed, "src"));
  mkdirSync(path.join(seed, "test"));
  writeFileSync(path.join(seed, "README.md"), "# Greeter\n\n`greet(name)` greets people.\n");
  writeFileSync(path.join(seed, "src/greet.js"), 'export function greet(name) {\n  return "Hello " + name;\n}\n');
  writeFileSync(path.join(seed, "src/farewell.js"), 'export function farewell(name) {\n  return "Bye " + name;\n}\n');
  writeFileSync(
    path.join(seed, "test/greet.test.js"),
    'import { test } from "node:test";\nimport assert from "node:assert/strict";\nimport { greet } from "../src/greet.js";\ntest("greets", () => assert.equal(greet("Ada"), "Hi Ada"));\n',
  );
  writeFileSync(path.join(seed, "package.json"), '{ "name": "greeter", "type": "module" }\n');
  for (const [rel, content] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(seed, rel)), { recursive: true });
    writeFileSync(path.join(seed, rel), content);
  }
  git(seed, "add", "-A");
  git(seed, "-c", "user.name=Human", "-c", "user.email=human@example.com", "commit", "-q", "-m", "initial");
  git(seed, "push", "-q", bare, "main");
  return { bare, seed };
}

/** The greeter's `.github/tollgate.yml`: its checks, what agents may run, and the tiers its costs are priced on (TEST_TIERS). */
export const CONFIG = (extra = "") =>
  `tiers:\n  deep: ${TEST_TIERS.deep}\n  standard: ${TEST_TIERS.standard}\n  light: ${TEST_TIERS.light}\nverify:\n  commands:\n    - ["node", "--test", "test/"]\n  timeout_seconds: 60\ncommands:\n  allow:\n    - ["node", "--test"]\n${extra}`;

export const gate: ScriptStep[] = [
  {
    toolUse: {
      name: "submit_verdict",
      input: {
        ready: true,
        score: 86,
        criteria: {
          problem: { status: "pass", note: "greet() says Hello." },
          acceptance_criteria: { status: "pass", note: "greet('Ada') returns 'Hi Ada'." },
          scope: { status: "pass", note: "src/greet.js only." },
          constraints: { status: "pass", note: "None." },
          test_plan: { status: "pass", note: "The existing test." },
        },
        questions: [],
        ticket_type: "bug",
        size: "xs",
      },
    },
  },
];

export const unit = (id: string, files: string[], title = `Change ${files.join(", ")}`) => ({
  id,
  title,
  instructions: `Make the change in ${files.join(", ")}.`,
  files,
});
export const planOf = (units: ReturnType<typeof unit>[]) => [
  { toolUse: { name: "str_replace_based_edit_tool", input: { command: "view", path: "src/greet.js" } } },
  {
    toolUse: {
      name: "submit_plan",
      input: {
        summary: "Make greet() say Hi.",
        steps: ["Change the greeting in src/greet.js", "Run the tests"],
        files: units.flatMap((u) => u.files),
        work_units: units,
        test_strategy: "The existing node:test suite covers it.",
        acceptance_checks: ["greet('Ada') returns 'Hi Ada'", "node --test passes"],
      },
    },
  },
];
export const edit = (file: string, from: string, to: string): ScriptStep => ({
  toolUse: { name: "str_replace_based_edit_tool", input: { command: "str_replace", path: file, old_str: from, new_str: to } },
});
/** An execution agent's last step: `finish_unit` with its summary (a reply without a tool call no longer ends a unit). */
export const done = (text: string, more: Record<string, unknown> = {}): ScriptStep => ({
  toolUse: { name: "finish_unit", input: { summary: text, files_touched: [], ...more } },
});
/** `finish_unit` answering review threads by id: an answer, or `["declined", why]`. */
export const answered = (summary: string, answers: Record<string, string | ["declined", string]>): ScriptStep =>
  done(summary, {
    answers: Object.entries(answers).map(([thread, a]) =>
      typeof a === "string" ? { thread, status: "done", answer: a } : { thread, status: a[0], answer: a[1] },
    ),
  });
export const approve: ScriptStep = {
  toolUse: {
    name: "submit_review",
    input: { verdict: "approve", summary: "The greeting changed as planned and the test passes.", findings: [] },
  },
};
export const requestChanges = (body: string): ScriptStep => ({
  toolUse: {
    name: "submit_review",
    input: {
      verdict: "request_changes",
      summary: "One problem.",
      findings: [{ file: "src/greet.js", line: 2, severity: "blocking", body }],
    },
  },
});
export const triage = (problem: string): ScriptStep => ({
  toolUse: {
    name: "submit_triage",
    input: { summary: "The greet test fails.", findings: [{ file: "src/greet.js", line: 2, problem, fix: 'Return "Hi " + name.' }] },
  },
});
