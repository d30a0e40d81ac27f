/** Jest runs the TypeScript sources through swc as native ESM (Probot 14 is ESM-only). */
export default {
  testEnvironment: "node",
  roots: ["<rootDir>/test"],
  testMatch: ["**/*.test.ts"],
  extensionsToTreatAsEsm: [".ts"],
  transform: {
    "^.+\\.ts$": ["@swc/jest", { jsc: { parser: { syntax: "typescript" }, target: "es2022" }, module: { type: "es6" } }],
  },
  moduleNameMapper: { "^(\\.{1,2}/.*)\\.js$": "$1" },
  globalSetup: "<rootDir>/test/helpers/global-setup.ts",
  // the slowest files first, also when no earlier run's timings are there (a fresh clone)
  testSequencer: "<rootDir>/test/helpers/slow-first.mjs",
  globalTeardown: "<rootDir>/test/helpers/global-teardown.ts",
  testTimeout: 60000,
  // Two test files at a time: the end-to-end tests mostly wait on git and sandboxed commands, so
  // the default on a 2-core machine (one worker) leaves a core idle.
  maxWorkers: 2,
};
