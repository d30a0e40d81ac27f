/**
 * `tollgate run --repo PATH --issue FILE.md`: the whole pipeline on a local git repository and
 * an issue written in a file, without GitHub. The gate, the plan, the loop and the report run as
 * they do for the app; the change is left on a branch of the local repository, and the report
 * (gate verdict, plan, verification, review, cost table) goes to stdout and to a file. The model
 * is Anthropic's API (ANTHROPIC_API_KEY), or a script of answers (`--script`) to try it free.
 */
import { existsSync, readFileSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import type { Logger } from "pino";
import { gitOf, localConfig, runLocal, scriptedModel } from "../app/local-run.js";
import type { AppEnv } from "../config/env.js";
import { migrate } from "../db/migrate.js";
import { openDatabase } from "../db/open.js";
import { usdToMicros } from "../llm/money.js";
import { RunCancelled } from "../pipeline/phase.js";
import { CliError } from "./errors.js";

export interface RunOptions {
  repo: string;
  issue: string;
  out?: string;
  script?: string;
  budget?: string;
}

/** The issue file: its first `# ` heading (or first line) is the title, the rest the body. */
export function readIssueFile(file: string): { title: string; body: string } {
  if (!existsSync(file)) throw new CliError(`--issue ${file}: no such file`);
  const text = readFileSync(file, "utf8").replace(/^\uFEFF/, "");
  if (!text.trim()) throw new CliError(`--issue ${file} is empty: write the issue's title on the first line and its body below`);
  const lines = text.split("\n");
  const first = lines.findIndex((l) => l.trim());
  const title = lines[first]!.replace(/^#+\s*/, "").trim();
  return {
    title,
    body: lines
      .slice(first + 1)
      .join("\n")
      .trim(),
  };
}

const slug = (text: string) =>
  text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-|-$/g, "")
    .slice(0, 40) || "issue";

/** One local run: what `tollgate run` and `tollgate eval` share. */
export async function runCommand(env: AppEnv, log: Logger, options: RunOptions): Promise<void> {
  const repo = path.resolve(options.repo);
  gitOf(repo);
  const issue = readIssueFile(options.issue);
  const config = localConfig(repo);
  const budgetMicros = usdToMicros(options.budget === undefined ? config.budget.run_usd : Number(options.budget));
  if (!Number.isFinite(budgetMicros) || budgetMicros <= 0)
    throw new CliError(`--budget "${options.budget}" is not a positive number of dollars`);
  if (!env.anthropic.apiKey && !options.script)
    throw new CliError(
      "ANTHROPIC_API_KEY is not set: set it to use Anthropic's API, or pass --script FILE.json to replay scripted answers",
    );
  const port = options.script ? scriptedModel(options.script) : undefined;
  if (port) log.info(`answers come from ${options.script}, not from the API`);

  const db = await openDatabase(env, log);
  const controller = new AbortController();
  const onSignal = () => controller.abort(new RunCancelled("interrupted (Ctrl-C)"));
  process.once("SIGINT", onSignal);
  try {
    await migrate(db);
    const out = path.resolve(options.out ?? `tollgate-report-${slug(issue.title)}.md`);
    const branch = `tollgate/${slug(path.basename(options.issue, path.extname(options.issue)))}`;
    const issueKey = path.resolve(options.issue);
    const result = await runLocal(env, log, db, { repo, issue, issueKey, branch, config, budgetMicros, port, signal: controller.signal });
    if (!result.ready) {
      await report(out, result.verdict);
      process.exitCode = 2;
    } else if (result.body !== undefined) {
      await report(
        out,
        `${result.verdict}\n\n---\n\n# ${issue.title}\n\nBranch \`${branch}\` in ${repo}${result.draft ? " (a draft: see why below)" : ""}.\n\n${result.body}`,
      );
      if (result.draft) process.exitCode = 2;
    } else {
      await report(out, `${result.verdict}\n\n---\n\nThe run ended without a change to show: ${result.reason}`);
      process.exitCode = 2;
    }
  } finally {
    process.off("SIGINT", onSignal);
    await db.close();
  }

  async function report(file: string, markdown: string) {
    process.stdout.write(`${markdown}\n`);
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, `${markdown}\n`);
    log.info({ file }, "report written");
  }
}
