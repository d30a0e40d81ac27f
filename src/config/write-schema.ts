/** `npm run schema`: regenerates the committed JSON Schema from the zod schema. */
import { writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { repoConfigJsonSchema } from "./repo-config.js";

export const SCHEMA_FILE = fileURLToPath(new URL("../../schema/tollgate.schema.json", import.meta.url));

export function renderSchema(): string {
  return `${JSON.stringify(repoConfigJsonSchema(), null, 2)}\n`;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await writeFile(SCHEMA_FILE, renderSchema());
  console.log(`wrote ${SCHEMA_FILE}`);
}
