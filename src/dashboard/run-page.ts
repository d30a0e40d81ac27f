/**
 * One run as the dashboard shows it: a timeline of its phases and rounds with each bar's cost,
 * every model call and command, the agents' transcripts (secrets masked), and the cost table
 * exactly as the PR has it (the same renderer, on the same ledger rows).
 */
import MarkdownIt from "markdown-it";
import { formatUsd } from "../llm/money.js";
import type { PriceBook } from "../llm/pricing.js";
import { renderCostTable, formatDuration } from "../report/cost-table.js";
import { maskSecrets } from "../safety/secrets.js";
import type { RunCosts } from "../stores/cost-rows.js";
import type { Access } from "../stores/dashboard.js";
import type { DashboardRunStore, RunCall, RunListRow } from "../stores/dashboard-runs.js";

/** HTML in a Markdown source is shown as text, never passed through. */
const markdown = new MarkdownIt({ html: false, linkify: false });

export interface TimelineBar {
  label: string;
  phase: string;
  round: number;
  status: string;
  /** Position and length on the run's time axis, in percent. */
  x: number;
  width: number;
  costMicros: number;
  cost: string;
  duration: string;
}

export interface RunPage {
  run: RunListRow & { error: string | null; budgetMicros: number | null };
  timeline: { bars: TimelineBar[]; total: string };
  calls: Array<RunCall & { cost: string; cacheSharePct: number | null; retry: boolean }>;
  commands: Array<{ phase: string; agent: string | null; command: string; exit: string; ok: boolean; duration: string }>;
  transcripts: Array<{
    agent: string;
    phase: string;
    events: Array<{ turn: number; tool: string; input: string; output: string; more: number; isError: boolean; duration: string }>;
  }>;
  costTableHtml: string;
  totalMicros: number;
}

export function timeline(
  phases: Array<{ name: string; iteration: number; status: string; startedAt: Date; finishedAt: Date | null }>,
  calls: Array<Pick<RunCall, "phase" | "iteration" | "costMicros">>,
  now: Date,
): RunPage["timeline"] {
  if (phases.length === 0) return { bars: [], total: "0.0s" };
  const start = Math.min(...phases.map((p) => p.startedAt.getTime()));
  const end = Math.max(...phases.map((p) => (p.finishedAt ?? now).getTime()), start + 1);
  const cost = new Map<string, number>();
  for (const c of calls) cost.set(`${c.phase}#${c.iteration}`, (cost.get(`${c.phase}#${c.iteration}`) ?? 0) + (c.costMicros ?? 0));
  const seen = new Set<string>();
  const bars = phases.map((p) => {
    const key = `${p.name}#${p.iteration}`;
    // a phase retried in the same round: its cost is on its first bar only, so the bars add up
    const micros = seen.has(key) ? 0 : (cost.get(key) ?? 0);
    seen.add(key);
    const from = p.startedAt.getTime();
    const to = (p.finishedAt ?? now).getTime();
    return {
      // rounds of the loop are numbered from 1; the phases before it (gate, setup, plan) have 0
      label: `${p.name}${p.iteration > 0 ? ` · round ${p.iteration}` : ""}`,
      phase: p.name,
      round: p.iteration,
      status: p.status,
      x: (100 * (from - start)) / (end - start),
      width: Math.max(0.5, (100 * (to - from)) / (end - start)),
      costMicros: micros,
      cost: formatUsd(micros, { precise: true }),
      duration: formatDuration(to - from),
    };
  });
  return { bars, total: formatDuration(end - start) };
}

function masked(value: unknown, max = 2000): string {
  const text = typeof value === "string" ? value : JSON.stringify(value, null, 2);
  const cut = text.length > max ? `${text.slice(0, max)}…` : text;
  return maskSecrets(cut);
}

export interface RunPageDeps {
  costs: RunCosts;
  runs: DashboardRunStore;
  prices: PriceBook;
  defaultDeepModel: string;
}

export async function runPage(deps: RunPageDeps, access: Access, id: string, now: Date): Promise<RunPage | undefined> {
  const run = await deps.runs.get(access, id);
  if (!run) return undefined;
  const [phases, calls, commands, events, rows] = await Promise.all([
    deps.runs.phases(run.id),
    deps.runs.calls(run.id),
    deps.runs.commands(run.id),
    deps.runs.events(run.id),
    deps.costs.costRows([run.id]),
  ]);
  const deepModel = calls.find((c) => c.tier === "deep")?.model ?? deps.defaultDeepModel;
  const table = renderCostTable({ rows, prices: deps.prices, deepModel, budgetMicros: run.budgetMicros, iterations: run.rounds });
  // the PR's pie is drawn by GitHub from a mermaid block; here the timeline shows the same split
  const costTableHtml = markdown.render(table.replace(/```mermaid[\s\S]*?```\n?/, ""));
  const transcripts = new Map<string, RunPage["transcripts"][number]>();
  for (const e of events) {
    const key = `${e.phase}/${e.agent}`;
    const t = transcripts.get(key) ?? transcripts.set(key, { agent: e.agent, phase: e.phase, events: [] }).get(key)!;
    t.events.push({
      turn: e.turn,
      tool: e.tool,
      input: masked(e.input),
      output: maskSecrets(e.output),
      more: Math.max(0, e.outputChars - e.output.length),
      isError: e.isError,
      duration: formatDuration(e.durationMs),
    });
  }
  return {
    run,
    timeline: timeline(phases, calls, now),
    calls: calls.map((c) => {
      const input = (c.input ?? 0) + (c.cacheWrite ?? 0) + (c.cacheRead ?? 0);
      return {
        ...c,
        cost: c.costMicros === null ? "unknown" : formatUsd(c.costMicros, { precise: true }),
        cacheSharePct: input > 0 ? Math.round((100 * (c.cacheRead ?? 0)) / input) : null,
        retry: c.attempt > 1,
      };
    }),
    commands: commands.map((c) => ({
      phase: c.phase,
      agent: c.agent,
      command: maskSecrets(c.argv.join(" ")),
      exit: c.timedOut ? "timed out" : c.signal ? `killed (${c.signal})` : String(c.exitCode),
      ok: c.exitCode === 0 && !c.timedOut,
      duration: formatDuration(c.durationMs),
    })),
    transcripts: [...transcripts.values()],
    costTableHtml,
    totalMicros: rows.reduce((s, r) => s + r.costMicros, 0),
  };
}
