/**
 * The command queue: a comment whose first line is a command (src/commands/parse.ts). The
 * sender needs the command's access (write; maintain for `/approve`); someone without it is
 * answered at most once an hour per issue (src/stores/refusals.ts), however many commands they
 * post. A comment on a pull request steers the run of the issue whose run opened it. Each
 * command is answered (a reaction, or a reply when there is something to say) and recorded;
 * bots never get here (the webhook handler drops them).
 */
import type { Logger } from "pino";
import { RepoConfigError } from "../config/repo-config.js";
import type { CommandCall, CommandHandler, CommandOutcome } from "../commands/command.js";
import { parseCommand, type Command } from "../commands/parse.js";
import { COMMANDS } from "../commands/table.js";
import type { CommandJob } from "../queue/jobs.js";
import type { JobResult } from "../queue/worker.js";
import { JobContext } from "./context.js";
import type { JobDeps } from "./deps.js";

export async function handleCommand(job: CommandJob, deps: JobDeps, log: Logger): Promise<JobResult> {
  const command = parseCommand(job.comment.line);
  if (!command) return { outcome: "ignored", detail: "not a command" };
  const ctx = await JobContext.open(deps.github, job);
  const where = job.issue.number; // replies go where the comment is
  const call: CommandCall = {
    command,
    ctx,
    job,
    deps,
    log,
    reply: (text) => ctx.gh.comment(where, text),
    react: (content) => ctx.gh.react(job.comment.id, content),
  };
  const result = await dispatch(call, COMMANDS[command.name] as CommandHandler<Command>);
  await deps.commands.record({
    deliveryId: job.deliveryId,
    installationId: job.installationId,
    owner: ctx.owner,
    repo: ctx.repo,
    issueNumber: ctx.issue,
    commentId: job.comment.id,
    sender: job.sender.login,
    line: job.comment.line,
    runId: result.runId,
    outcome: result.outcome,
    detail: result.detail,
  });
  log.info({ command: command.name, sender: job.sender.login, outcome: result.outcome, detail: result.detail }, "comment command");
  return { outcome: result.outcome === "done" ? "done" : "ignored", detail: `${job.comment.line.split(/\s/)[0]}: ${result.detail}` };
}

/** Who may, which issue, the settings when the command acts on runs, then the command's own handler. */
async function dispatch(call: CommandCall, handler: CommandHandler<Command>): Promise<CommandOutcome> {
  const { ctx, job, deps } = call;
  const access = await ctx.may(job.sender.login, handler.access);
  if (!access.allowed) {
    const where = { repositoryId: job.repository.id, issueNumber: job.issue.number, subject: job.sender.login };
    const answer = await deps.refusals.record(where);
    if (answer) await call.reply(access.refusal("give Tollgate that command"));
    return {
      outcome: "refused",
      detail: `${job.sender.login} has ${access.permission} access${answer ? "" : " (already answered this hour)"}`,
    };
  }
  if (job.issue.isPullRequest) {
    const issue = await deps.runs.issueOfPullRequest(job.repository.id, job.issue.number);
    if (issue === undefined) {
      await call.reply("Tollgate did not open this pull request, so it takes no commands here.");
      return { outcome: "refused", detail: "a pull request Tollgate did not open" };
    }
    ctx.issue = issue;
  }
  if (!handler.acts) return handler.run(call);
  const config = await ctx.settings();
  if (config instanceof RepoConfigError) {
    await call.reply(`Tollgate cannot act: \`.github/tollgate.yml\` is invalid (${config.problems.join("; ")}).`);
    return { outcome: "refused", detail: config.message };
  }
  return handler.run({ ...call, config, active: await deps.runs.active(job.repository.id, ctx.issue) });
}
