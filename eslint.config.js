import js from "@eslint/js";
import tseslint from "typescript-eslint";
import globals from "globals";

export default tseslint.config(
  { ignores: ["dist/", "node_modules/", "coverage/", ".tollgate/"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      // Only the config loader may read the environment.
      "no-restricted-properties": ["error", { object: "process", property: "env", message: "Read configuration through src/config/env.ts." }],
    },
  },
  {
    files: ["src/config/env.ts", "test/**", "bench/**", "jest.config.js", "eslint.config.js"],
    rules: { "no-restricted-properties": "off" },
  },
);
