/**
 * Golden files: rendered text compared with `test/fixtures/golden/<name>.md`, byte for byte.
 * `UPDATE_GOLDEN=1` (re)writes the file from the text first; then read the diff, and the file,
 * before trusting it. A missing file fails the test: a golden test never passes on nothing.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const DIR = fileURLToPath(new URL("../fixtures/golden/", import.meta.url));

export function goldenPath(name: string): string {
  if (!/^[a-z0-9][a-z0-9._-]*$/i.test(name))
    throw new Error(`a golden file's name is letters, digits, '.', '_' and '-': ${JSON.stringify(name)}`);
  return path.join(DIR, `${name}.md`);
}

export function expectGolden(name: string, text: string): void {
  const file = goldenPath(name);
  if (process.env.UPDATE_GOLDEN) {
    mkdirSync(DIR, { recursive: true });
    writeFileSync(file, text);
  }
  if (!existsSync(file)) {
    throw new Error(
      `The golden file test/fixtures/golden/${name}.md does not exist: run the test with UPDATE_GOLDEN=1 to write it, then read it and check it is right.`,
    );
  }
  expect(text).toBe(readFileSync(file, "utf8"));
}
