import js from "@eslint/js";
import tseslint from "typescript-eslint";
import globals from "globals";
import prettier from "eslint-config-prettier";

/** The start of a SQL statement, as written in this codebase (keywords in capitals). */
const SQL = String.raw`/^\s*(SELECT\s|INSERT\s+INTO\s|UPDATE\s+\w+\s+SET\s|DELETE\s+FROM\s|WITH\s+\w+\s+AS\s|CREATE\s|ALTER\s|DROP\s|TRUNCATE\s)/`;

export default tseslint.config(
  { ignores: ["dist/", "node_modules/", "coverage/", ".tollgate/", "test/fixtures/projects/"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  prettier, // layout is Prettier's (`npm run format`); the rules below are about size
  {
    // Limits every file follows: Prettier wraps code at 140 columns, so a longer line is a string
    // or a comment to wrap by hand; a function over 100 lines (as Prettier lays it out) or a file
    // over 400 does too much.
    files: ["**/*.{ts,js,mjs}"],
    rules: {
      "max-len": ["error", { code: 160, ignoreStrings: true, ignoreTemplateLiterals: true, ignoreRegExpLiterals: true, ignoreUrls: true }],
      "max-lines": ["error", { max: 400, skipBlankLines: true, skipComments: true }],
      "max-lines-per-function": ["error", { max: 100, skipBlankLines: true, skipComments: true, IIFEs: true }],
    },
  },
  {
    // A test file is a list of cases inside one `describe`: its length is the number of cases.
    files: ["test/**/*.ts"],
    rules: { "max-lines-per-function": "off", "max-lines": ["error", { max: 800, skipBlankLines: true, skipComments: true }] },
  },
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      // Only the config loader may read the environment.
      "no-restricted-properties": [
        "error",
        { object: "process", property: "env", message: "Read configuration through src/config/env.ts." },
      ],
    },
  },
  {
    // The dashboard's own script runs in the browser (dashboard/assets/), where Chart.js is a global.
    files: ["dashboard/assets/**/*.js"],
    languageOptions: { sourceType: "script", globals: { ...globals.browser, Chart: "readonly" } },
  },
  {
    // Stores own the SQL: no query and no SQL text outside src/stores (and the drivers in src/db).
    files: ["src/**/*.ts"],
    ignores: ["src/stores/**", "src/db/**"],
    rules: {
      "no-restricted-syntax": [
        "error",
        {
          selector: "CallExpression[callee.property.name=/^(query|transaction)$/]",
          message: "SQL belongs in a store (src/stores/): add a method there.",
        },
        {
          selector: "CallExpression[callee.property.name='exec'][callee.object.name=/^(db|tx|database)$/i]",
          message: "SQL belongs in a store (src/stores/): add a method there.",
        },
        { selector: `Literal[value=${SQL}]`, message: "SQL text belongs in a store (src/stores/)." },
        { selector: `TemplateElement[value.raw=${SQL}]`, message: "SQL text belongs in a store (src/stores/)." },
      ],
    },
  },
  {
    // The pipeline and the phases know runs, not queues: the jobs layer (src/jobs) stands between.
    files: ["src/pipeline/**/*.ts", "src/phases/**/*.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            {
              group: ["**/queue/*", "**/jobs/*"],
              message: "The pipeline does not know queues or jobs: take plain inputs (src/pipeline/run-target.ts).",
            },
          ],
        },
      ],
    },
  },
  {
    files: ["src/config/env.ts", "test/**", "bench/**", "jest.config.js", "eslint.config.js"],
    rules: { "no-restricted-properties": "off" },
  },
);
