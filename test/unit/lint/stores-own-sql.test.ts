/**
 * Stores own the SQL: the lint rule in eslint.config.js refuses a query or SQL text in any file
 * outside src/stores (and the drivers in src/db). These cases check the rule itself, on sample
 * text; that the code as it is follows it is `npm run lint`'s to say (CI runs it, `.ci/run`).
 */
import { ESLint } from "eslint";

const eslint = new ESLint({ cwd: process.cwd() });
const SQL_RULE = "no-restricted-syntax";

const NEW_FILE = `
import type { Database } from "../db/database.js";
export async function activeRuns(db: Database) {
  const { rows } = await db.query<{ id: string }>("SELECT id FROM runs WHERE status = 'running'");
  return rows;
}
export const finish = \`UPDATE runs SET status = 'failed' WHERE id = $1\`;
`;

async function sqlProblems(filePath: string, text: string): Promise<string[]> {
  const [result] = await eslint.lintText(text, { filePath });
  return result!.messages.filter((m) => m.ruleId === SQL_RULE).map((m) => `${m.line}: ${m.message}`);
}

describe("stores own the SQL", () => {
  it.each(["src/pipeline/new-step.ts", "src/jobs/new-job.ts", "src/commands/new-command.ts", "src/webhooks/new-hook.ts"])(
    "refuses a new file at %s that queries the database",
    async (file) => {
      const problems = await sqlProblems(file, NEW_FILE);
      expect(problems).toEqual([
        expect.stringMatching(/^4: SQL belongs in a store/),
        expect.stringMatching(/^4: SQL text belongs in a store/),
        expect.stringMatching(/^7: SQL text belongs in a store/),
      ]);
    },
  );

  it("accepts the same file in src/stores", async () => {
    expect(await sqlProblems("src/stores/new-store.ts", NEW_FILE)).toEqual([]);
  });

  it("does not mistake prose for SQL", async () => {
    const prose = `export const line = "Select a label, then update the issue with the details";\nexport const other = \`With commands disabled, the checks will not run\`;\n`;
    expect(await sqlProblems("src/report/new-report.ts", prose)).toEqual([]);
  });
});
