/**
 * A comment command, in the worker. The sender needs write access (maintain or admin for
 * `/approve`); a comment on a pull request steers the run of the issue whose run opened it. Each
 * command is acknowledged (a 👍 reaction, or a reply when there is something to say), recorded in
 * `comment_commands`, and never starts anything for a bot (the webhook handler drops those).
 */
import type { Logger } from "pino";
import { RepoConfigError, type RepoConfig } from "../config/repo-config.js";
import { costRows, phaseCosts, runSummaries, runsOfIssue } from "../ledger/cost-rows.js";
import { formatUsd, usdToMicros } from "../llm/money.js";
import type { PriceBook } from "../llm/pricing.js";
import type { Verdict } from "../phases/gate/verdict.js";
import { queueFollowUpRun } from "../pipeline/follow-up.js";
import { PhaseRunner } from "../pipeline/phase.js";
import { openIssue, repoSettings } from "../pipeline/issue-context.js";
import { cancelActiveRun, NEEDS_SPEC_LABEL, startRun, type StartRunDeps } from "../pipeline/start-run.js";
import { jobIdForRun } from "../queue/job-id.js";
import type { CommandJob } from "../queue/jobs.js";
import type { JobResult } from "../queue/worker.js";
import { renderCostTable } from "../report/cost-table.js";
import { formatSpend } from "../report/progress.js";
import { HELP, parseCommand, type Command } from "./parse.js";

export interface CommandDeps extends StartRunDeps {
  prices: PriceBook;
}

const WRITERS = new Set(["admin", "maintain", "write"]);
const MAINTAINERS = new Set(["admin", "maintain"]);

type Outcome = { outcome: "done" | "refused" | "invalid"; detail: string; runId?: string };

export async function handleCommand(job: CommandJob, deps: CommandDeps, log: Logger): Promise<JobResult> {
  const command = parseCommand(job.comment.line);
  if (!command) return { outcome: "ignored", detail: "not a command" };
  const ctx = await openIssue(deps.github, job);
  const where = job.issue.number; // replies go where the comment is
  const reply = (text: string) => ctx.gh.comment(where, text);
  const result = await decide();
  await deps.db.query(
    `INSERT INTO comment_commands (delivery_id, installation_id, owner, repo, issue_number, comment_id, sender, command, run_id, outcome, detail)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT (delivery_id) DO NOTHING`,
    [job.deliveryId, job.installationId, ctx.owner, ctx.repo, ctx.issue, job.comment.id, job.sender.login, job.comment.line.slice(0, 200), result.runId ?? null, result.outcome, result.detail],
  );
  log.info({ command: command.name, sender: job.sender.login, outcome: result.outcome, detail: result.detail }, "comment command");
  return { outcome: result.outcome === "done" ? "done" : "ignored", detail: `${job.comment.line.split(/\s/)[0]}: ${result.detail}` };

  async function decide(): Promise<Outcome> {
    // who may
    const permission = await ctx.gh.permission(job.sender.login);
    const needed = command!.name === "approve" ? MAINTAINERS : WRITERS;
    if (!needed.has(permission)) {
      const who = command!.name === "approve" ? "maintainers and admins" : "people with write access";
      await reply(`@${job.sender.login}, only ${who} of ${ctx.owner}/${ctx.repo} can give Tollgate that command (you have ${permission} access).`);
      return { outcome: "refused", detail: `${job.sender.login} has ${permission} access` };
    }
    // which issue
    if (job.issue.isPullRequest) {
      const issue = await deps.runs.issueOfPullRequest(job.repository.id, job.issue.number);
      if (issue === undefined) {
        await reply("Tollgate did not open this pull request, so it takes no commands here.");
        return { outcome: "refused", detail: "a pull request Tollgate did not open" };
      }
      ctx.issue = issue;
    }
    switch (command!.name) {
      case "help":
        await reply(HELP);
        return { outcome: "done", detail: "help" };
      case "unknown":
        await ctx.gh.react(job.comment.id, "confused");
        await reply(`\`/${command!.command}\` is not a Tollgate command.\n\n${HELP}`);
        return { outcome: "invalid", detail: `unknown command /${command!.command}` };
      case "invalid":
        await ctx.gh.react(job.comment.id, "confused");
        await reply(`${command!.problem}.\n\n${HELP}`);
        return { outcome: "invalid", detail: command!.problem };
    }
    const config = await repoSettings(ctx);
    if (config instanceof RepoConfigError) {
      await reply(`Tollgate cannot act: \`.github/tollgate.yml\` is invalid (${config.problems.join("; ")}).`);
      return { outcome: "refused", detail: config.message };
    }
    return act(command!, config);
  }

  async function act(command: Command, config: RepoConfig): Promise<Outcome> {
    const active = await deps.runs.active(job.repository.id, ctx.issue);
    switch (command.name) {
      case "status":
        return status(active?.id);
      case "cost":
        return cost(config);
      case "cancel": {
        if (!active) return nothingActive("cancel");
        await cancelActiveRun(ctx, deps, active.id, `@${job.sender.login} commented \`/cancel\``, "Comment `/retry` to start over.");
        await ctx.gh.react(job.comment.id, "+1");
        return { outcome: "done", detail: `run ${active.id} cancelled`, runId: active.id };
      }
      case "budget": {
        if (!active) return nothingActive("raise the budget of");
        const micros = usdToMicros(command.usd);
        const daily = usdToMicros(config.budget.daily_usd);
        const current = active.budget_usd_micros ?? usdToMicros(config.budget.run_usd);
        if (micros > daily) {
          await reply(`\`/budget ${command.usd}\`: a run's budget cannot pass the installation's daily cap of ${formatUsd(daily)} (\`budget.daily_usd\`).`);
          return { outcome: "refused", detail: "over the daily cap", runId: active.id };
        }
        if (micros <= current) {
          await reply(`\`/budget ${command.usd}\`: the run's budget is already ${formatUsd(current)}; \`/budget\` raises it.`);
          return { outcome: "refused", detail: "not a raise", runId: active.id };
        }
        await deps.runs.setBudget(active.id, micros);
        await ctx.gh.react(job.comment.id, "+1");
        await reply(`The run's budget is now ${formatUsd(micros)} (it was ${formatUsd(current)}), raised by @${job.sender.login}.`);
        return { outcome: "done", detail: `budget ${formatUsd(current)} → ${formatUsd(micros)}`, runId: active.id };
      }
      case "retry":
        if (active) {
          await reply("A run is already active on this issue: `/cancel` it first, or wait for it to end.");
          return { outcome: "refused", detail: "a run is active", runId: active.id };
        }
        return command.from && command.from !== "gate" ? retryFrom(command.from, config) : retryAll(config);
      case "approve":
        return approve(config);
      default:
        throw new Error(`unhandled command ${command.name}`);
    }
  }

  async function nothingActive(what: string): Promise<Outcome> {
    await reply(`No run is active on this issue, so there is nothing to ${what}.`);
    return { outcome: "refused", detail: "no active run" };
  }

  async function status(activeId?: string): Promise<Outcome> {
    if (!activeId) {
      const last = await deps.runs.latest(job.repository.id, ctx.issue);
      await reply(last ? `No run is active on this issue. The last one ended \`${last.status}\`.` : "Tollgate has not run on this issue.");
      return { outcome: "done", detail: "status: none active" };
    }
    const run = (await deps.runs.get(activeId))!;
    const [phase] = (await deps.db.query<{ name: string; iteration: number; status: string }>("SELECT name, iteration, status FROM phases WHERE run_id = $1 ORDER BY id DESC LIMIT 1", [run.id])).rows;
    const costs = await phaseCosts(deps.db, run.id);
    let where = phase ? `${phase.name}${phase.iteration ? ` (round ${phase.iteration})` : ""}, ${phase.status}` : "starting";
    if (run.status === "queued") {
      const { rows } = await deps.db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pgboss.job WHERE name = 'tollgate-run' AND state IN ('created', 'retry')
           AND created_on <= coalesce((SELECT created_on FROM pgboss.job WHERE id = $1), now())`,
        [jobIdForRun(run.id)],
      );
      where = `queued, number ${Math.max(1, rows[0]!.n)} in line`;
    }
    await reply(`Run \`${run.id}\`: ${where}. Spent ${formatSpend(costs)}${run.budget_usd_micros ? ` of ${formatUsd(run.budget_usd_micros)}` : ""}.`);
    return { outcome: "done", detail: `status: ${where}`, runId: run.id };
  }

  async function cost(config: RepoConfig): Promise<Outcome> {
    const ids = await runsOfIssue(deps.db, ctx.owner, ctx.repo, ctx.issue);
    const rows = await costRows(deps.db, ids);
    if (!rows.length) {
      await reply("No model call has been made for this issue yet.");
      return { outcome: "done", detail: "cost: none" };
    }
    const summaries = await runSummaries(deps.db, ids);
    const table = renderCostTable({ rows, prices: deps.prices, deepModel: config.tiers.deep, budgetMicros: summaries.at(-1)?.budgetMicros ?? null, iterations: summaries.reduce((s, r) => s + r.iterations, 0) });
    await reply(`### Tollgate: cost so far (${ids.length} run${ids.length === 1 ? "" : "s"})\n\n${table}`);
    return { outcome: "done", detail: `cost of ${ids.length} run(s)` };
  }

  /** `/retry`: the trigger again, gate included (src/pipeline/start-run.ts). */
  async function retryAll(config: RepoConfig): Promise<Outcome> {
    const title = (await ctx.gh.issue(ctx.issue)).title;
    const started = await startRun(
      { deliveryId: job.deliveryId, kind: "labeled", installationId: job.installationId, repository: job.repository, issue: { number: ctx.issue, title }, label: config.trigger.label, sender: job.sender, retry: true },
      deps,
      log,
    );
    await ctx.gh.react(job.comment.id, "+1");
    return { outcome: started.outcome === "failed" ? "refused" : "done", detail: `retry: ${started.detail ?? started.outcome}` };
  }

  /** A new run that starts after the phases it reuses from the last run that had them. */
  function newRunFrom(previous: string, reuse: string[], config: RepoConfig, amend?: (runId: string) => Promise<void>): Promise<string> {
    return queueFollowUpRun({ runs: deps.runs, enqueueRun: deps.enqueueRun, ctx, job, config, previous, reuse, amend });
  }

  /** A run's gate checkpoint, as the phase wrapper stored it. */
  function gateOf(runId: string): Promise<{ verdict?: Verdict } | undefined> {
    return new PhaseRunner(deps.db, runId, log).checkpoint<{ verdict?: Verdict }>("gate", 0);
  }

  async function retryFrom(from: "plan" | "execute", config: RepoConfig): Promise<Outcome> {
    const reuse = from === "plan" ? ["gate"] : ["gate", "plan"];
    const source = await deps.runs.lastWithPhase(job.repository.id, ctx.issue, reuse.at(-1)!);
    const gate = source ? await gateOf(source) : undefined;
    if (!source || !gate?.verdict?.ready) {
      await reply(`There is no ${from === "plan" ? "passed spec gate" : "plan"} to start from on this issue: comment \`/retry\` to run everything${from === "plan" ? ", or `/approve` to override the gate" : ""}.`);
      return { outcome: "refused", detail: `nothing to retry ${from} from` };
    }
    const runId = await newRunFrom(source, reuse, config);
    await ctx.gh.react(job.comment.id, "+1");
    await reply(`Retrying from ${from}: run \`${runId}\` reuses the ${reuse.join(" and ")} of run \`${source}\`.`);
    return { outcome: "done", detail: `retry from ${from}`, runId };
  }

  async function approve(config: RepoConfig): Promise<Outcome> {
    const last = await deps.runs.latest(job.repository.id, ctx.issue);
    const gate = last && (await gateOf(last.id));
    if (!last || last.status !== "needs_spec" || !gate) {
      await reply("There is no held-back issue to approve: `/approve` overrides a spec gate that said the issue is not ready.");
      return { outcome: "refused", detail: "nothing to approve" };
    }
    const runId = await newRunFrom(last.id, ["gate"], config, async (id) => {
      // the override is recorded in the gate's checkpoint of the new run
      await deps.db.query(
        `UPDATE phases SET output = jsonb_set(output, '{verdict,ready}', 'true'::jsonb) || jsonb_build_object('approved_by', $2::text)
         WHERE run_id = $1 AND name = 'gate'`,
        [id, job.sender.login],
      );
    });
    await ctx.gh.removeLabel(ctx.issue, NEEDS_SPEC_LABEL);
    await ctx.gh.react(job.comment.id, "+1");
    await ctx.gh.upsertSticky(ctx.issue, `### Tollgate: approved\n\n@${job.sender.login} approved this issue over the spec gate's verdict (score ${gate.verdict?.score ?? "?"}/100): planning starts shortly.`);
    return { outcome: "done", detail: `gate overridden by ${job.sender.login}`, runId };
  }
}
