/**
 * Jest runs the TypeScript sources through swc as native ESM (Probot 14 is ESM-only), in three
 * lanes (CONTRIBUTING.md): `fast`, the unit tests that use no database; `db`, the unit tests
 * that do; `e2e`, test/integration (the whole app, the pipeline, the CLI). `npm test` runs all
 * three, `npm run test:fast` the first, `--selectProjects db` one of them.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = path.dirname(fileURLToPath(import.meta.url));

/** A database driver, or Tollgate's. */
const DRIVER = /from\s+["'](pg|@electric-sql\/pglite)["']|["'][./]*\/src\/db\/(pglite|pg)\.js["']/;
/** Relative imports that bring code in (not `import type`), static or dynamic. */
const IMPORT = /(?:^|\n)\s*(?:import|export)\s+(?!type\s)[^;]*?\sfrom\s+["'](\.[^"']+)["']|import\(\s*["'](\.[^"']+)["']\s*\)/g;

/**
 * Whether a test file uses a database: it imports a driver, or a test helper that does
 * (test/helpers/db.ts and the helpers built on it, such as app.ts), at any depth.
 */
function usesDatabase(file, seen = new Set()) {
  if (seen.has(file)) return false;
  seen.add(file);
  const text = readFileSync(file, "utf8");
  if (DRIVER.test(text)) return true;
  return [...text.matchAll(IMPORT)].some((m) => {
    const target = path.resolve(path.dirname(file), m[1] ?? m[2]).replace(/\.js$/, ".ts");
    return target.startsWith(path.join(ROOT, "test", "helpers") + path.sep) && existsSync(target) && usesDatabase(target, seen);
  });
}

const unitFiles = readdirSync(path.join(ROOT, "test", "unit"), { recursive: true })
  .filter((f) => f.endsWith(".test.ts"))
  .map((f) => path.join(ROOT, "test", "unit", f));
const [withDatabase, withoutDatabase] = [unitFiles.filter((f) => usesDatabase(f)), unitFiles.filter((f) => !usesDatabase(f))];

const lane = (displayName, testMatch) => ({
  displayName,
  roots: ["<rootDir>/test"],
  testMatch,
  testEnvironment: "node",
  extensionsToTreatAsEsm: [".ts"],
  transform: {
    "^.+\\.ts$": ["@swc/jest", { jsc: { parser: { syntax: "typescript" }, target: "es2022" }, module: { type: "es6" } }],
  },
  moduleNameMapper: { "^(\\.{1,2}/.*)\\.js$": "$1" },
});

export default {
  projects: [lane("fast", withoutDatabase), lane("db", withDatabase), lane("e2e", ["<rootDir>/test/integration/**/*.test.ts"])],
  // Once for the whole run, whichever lanes run; they start nothing (see global-setup.ts).
  globalSetup: "<rootDir>/test/helpers/global-setup.ts",
  globalTeardown: "<rootDir>/test/helpers/global-teardown.ts",
  // the end-to-end lane first, the largest files first (test/helpers/lane-order.mjs)
  testSequencer: "<rootDir>/test/helpers/lane-order.mjs",
  testTimeout: 60000,
  // Two test files at a time, across the lanes: the end-to-end tests mostly wait on git and
  // sandboxed commands, so the default on a 2-core machine (one worker) leaves a core idle.
  maxWorkers: 2,
};
