/**
 * The runs list: its filters, read from the query string (a bad value is named on the page,
 * never a 500), and each run as a row with links to its issue and pull request on GitHub.
 */
import { formatUsd } from "../llm/money.js";
import { formatDuration } from "../report/cost-table.js";
import type { RunListFilter, RunListRow } from "../stores/dashboard-runs.js";

export const RUN_STATUSES = ["queued", "running", "needs_spec", "succeeded", "draft", "stopped", "failed", "cancelled"];
export const TICKET_TYPES = ["bug", "feature", "refactor", "docs", "chore", "test"];
export const PAGE_SIZE = 50;

const DAY = /^\d{4}-\d{2}-\d{2}$/;

/** The filter a query string asks for, or the first thing wrong with it. */
export function parseRunFilter(query: URLSearchParams): { filter: RunListFilter; error?: string } {
  const filter: RunListFilter = { limit: PAGE_SIZE };
  const repository = query.get("repository")?.trim();
  if (repository) {
    if (!/^[\w.-]+\/[\w.-]+$/.test(repository)) return { filter, error: `"${repository}" is not a repository: write it as owner/name.` };
    filter.repository = repository;
  }
  const status = query.get("status");
  if (status) {
    if (!RUN_STATUSES.includes(status)) return { filter, error: `"${status}" is not a run status (${RUN_STATUSES.join(", ")}).` };
    filter.status = status;
  }
  const type = query.get("type");
  if (type) {
    if (!TICKET_TYPES.includes(type)) return { filter, error: `"${type}" is not a ticket type (${TICKET_TYPES.join(", ")}).` };
    filter.ticketType = type;
  }
  for (const key of ["since", "until"] as const) {
    const value = query.get(key);
    if (!value) continue;
    if (!DAY.test(value) || Number.isNaN(Date.parse(`${value}T00:00:00Z`)))
      return { filter, error: `"${value}" is not a date (YYYY-MM-DD).` };
    filter[key] = value;
  }
  const before = query.get("before");
  if (before) {
    const [at, id] = before.split("_");
    if (!at || !id || Number.isNaN(Date.parse(at)) || !/^[0-9a-f-]{36}$/i.test(id))
      return { filter, error: "The page link is damaged: start from the first page." };
    filter.before = { at: new Date(at), id };
  }
  return { filter };
}

/** github.com's web pages for api.github.com; GitHub Enterprise Server's host for its /api/v3. */
export function githubWebUrl(apiUrl: string): string {
  const url = new URL(apiUrl);
  if (url.hostname === "api.github.com") return "https://github.com";
  return `${url.protocol}//${url.host}`;
}

export interface RunRowView {
  id: string;
  kind: string;
  owner: string;
  repo: string;
  issueNumber: number;
  issueUrl: string;
  prNumber: number | null;
  prUrl: string | null;
  status: string;
  phase: string;
  rounds: number;
  cost: string;
  duration: string;
  at: string;
}

export function runRow(r: RunListRow, web: string, now: Date): RunRowView {
  const repo = `${web}/${encodeURIComponent(r.owner)}/${encodeURIComponent(r.repo)}`;
  const start = r.startedAt ?? r.createdAt;
  const end = r.finishedAt ?? (r.status === "queued" || r.status === "running" ? now : r.updatedAt);
  return {
    id: r.id,
    kind: r.kind,
    owner: r.owner,
    repo: r.repo,
    issueNumber: r.issueNumber,
    issueUrl: `${repo}/issues/${r.issueNumber}`,
    prNumber: r.prNumber,
    prUrl: r.prNumber === null ? null : `${repo}/pull/${r.prNumber}`,
    status: r.status,
    phase: r.phase ?? "–",
    rounds: r.rounds,
    cost: `${formatUsd(r.costMicros, { precise: true })}${r.unknownCost ? "*" : ""}`,
    duration: formatDuration(Math.max(0, end.getTime() - start.getTime())),
    at: r.createdAt.toISOString().slice(0, 16).replace("T", " "),
  };
}

/** The link to the page after `rows` (the same filters, older runs). */
export function nextPage(query: URLSearchParams, rows: RunListRow[]): string | undefined {
  if (rows.length < PAGE_SIZE) return undefined;
  const last = rows[rows.length - 1]!;
  const next = new URLSearchParams(query);
  next.delete("fragment");
  next.set("before", `${last.createdAt.toISOString()}_${last.id}`);
  return `/dashboard/runs?${next.toString()}`;
}
