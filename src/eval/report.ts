/**
 * What an evaluation found, per prompt version (the set of prompt templates, `id@version`, the
 * runs rendered): the resolved rate, dollars and tokens per resolved task by phase, rounds, and
 * the gate's precision on the tickets it held back.
 */
import { formatUsd } from "../llm/money.js";
import type { RunFigures } from "../stores/eval.js";

export interface Attempt {
  task: string;
  attempt: number;
  expect: "ready" | "not_ready";
  runId: string;
  /** The gate let it through. */
  ready: boolean;
  status: string;
  /** The hidden check passed; null when it did not run (held back, or no change to check). */
  resolved: boolean | null;
  detail: string;
  figures: RunFigures;
}

export interface VersionReport {
  /** The prompt templates, as `id@version`. */
  prompts: string[];
  attempts: number;
  /** Attempts of tasks that should run, and how many the hidden check passed. */
  runnable: number;
  resolved: number;
  resolvedRate: number | null;
  /** Mean rounds of the attempts that went past the gate. */
  rounds: number | null;
  /** Per phase: dollars and tokens of every runnable attempt, divided by the resolved ones. */
  perResolved: Array<{ phase: string; costMicros: number; tokens: number }> | null;
  totalCostMicros: number;
  /** Of the tickets the gate held back, the share that should have been (null when it held none back). */
  gatePrecision: number | null;
  /** Of the tickets that should be held back, the share it did. */
  gateRecall: number | null;
}

/** `gate.verdict@2` → ["gate.verdict", "2"]. */
const splitId = (id: string) => [id.slice(0, id.lastIndexOf("@")), id.slice(id.lastIndexOf("@") + 1)] as const;

/**
 * Attempts grouped by prompt version: attempts whose templates never disagree (no template at two
 * versions) are one version, whatever subset each rendered (a ticket the gate held back renders
 * only the gate's prompt).
 */
export function byVersion(attempts: Attempt[]): Array<{ prompts: string[]; attempts: Attempt[] }> {
  const groups: Array<{ versions: Map<string, string>; attempts: Attempt[] }> = [];
  const bySize = [...attempts].sort((a, b) => b.figures.prompts.length - a.figures.prompts.length);
  for (const a of bySize) {
    const mine = new Map(a.figures.prompts.map(splitId));
    const group = groups.find((g) => [...mine].every(([name, version]) => (g.versions.get(name) ?? version) === version));
    if (group) {
      for (const [name, version] of mine) group.versions.set(name, version);
      group.attempts.push(a);
    } else groups.push({ versions: mine, attempts: [a] });
  }
  return groups.map((g) => ({
    prompts: [...g.versions].map(([name, version]) => `${name}@${version}`).sort(),
    attempts: attempts.filter((a) => g.attempts.includes(a)),
  }));
}

export function summarise(attempts: Attempt[]): VersionReport[] {
  return byVersion(attempts).map(({ prompts, attempts: group }) => {
    const runnable = group.filter((a) => a.expect === "ready");
    const resolved = runnable.filter((a) => a.resolved === true).length;
    const ran = group.filter((a) => a.ready);
    const heldBack = group.filter((a) => !a.ready);
    const shouldHold = group.filter((a) => a.expect === "not_ready");
    const phases = new Map<string, { costMicros: number; tokens: number }>();
    for (const a of runnable)
      for (const p of a.figures.phases) {
        const sum = phases.get(p.phase) ?? phases.set(p.phase, { costMicros: 0, tokens: 0 }).get(p.phase)!;
        sum.costMicros += p.costMicros;
        sum.tokens += p.tokens;
      }
    return {
      prompts,
      attempts: group.length,
      runnable: runnable.length,
      resolved,
      resolvedRate: runnable.length ? resolved / runnable.length : null,
      rounds: ran.length ? ran.reduce((s, a) => s + a.figures.iterations, 0) / ran.length : null,
      perResolved: resolved
        ? [...phases].map(([phase, s]) => ({
            phase,
            costMicros: Math.round(s.costMicros / resolved),
            tokens: Math.round(s.tokens / resolved),
          }))
        : null,
      totalCostMicros: group.reduce((s, a) => s + a.figures.phases.reduce((t, p) => t + p.costMicros, 0), 0),
      gatePrecision: heldBack.length ? heldBack.filter((a) => a.expect === "not_ready").length / heldBack.length : null,
      gateRecall: shouldHold.length ? shouldHold.filter((a) => !a.ready).length / shouldHold.length : null,
    };
  });
}

const pct = (n: number | null) => (n === null ? "–" : `${(100 * n).toFixed(0)}%`);

export function renderReport(suite: string, attempts: Attempt[], versions: VersionReport[]): string {
  const lines = [`# Evaluation: ${suite}`, ""];
  lines.push("| Task | Attempt | Gate | Status | Hidden check | Rounds | Cost |", "|---|---:|---|---|---|---:|---:|");
  for (const a of attempts) {
    const cost = a.figures.phases.reduce((s, p) => s + p.costMicros, 0);
    const check = a.resolved === null ? "–" : a.resolved ? "✅ resolved" : "❌ not resolved";
    lines.push(
      `| ${a.task} | ${a.attempt} | ${a.ready ? "ready" : "held back"}${a.expect === "not_ready" ? " (should hold)" : ""} | ${a.status} | ${check} (${a.detail}) | ${a.figures.iterations} | ${formatUsd(cost, { precise: true })} |`,
    );
  }
  for (const v of versions) {
    lines.push("", `## Prompt version`, "", v.prompts.map((p) => `\`${p}\``).join(", ") || "(no prompt recorded)", "");
    lines.push(
      `- Resolved: **${v.resolved} of ${v.runnable}** (${pct(v.resolvedRate)}); rounds per run past the gate: ${v.rounds === null ? "–" : v.rounds.toFixed(1)}`,
      `- Gate: precision on held-back tickets ${pct(v.gatePrecision)}, recall ${pct(v.gateRecall)}`,
      `- Spent: ${formatUsd(v.totalCostMicros, { precise: true })} in all`,
    );
    if (v.perResolved) {
      lines.push("", "| Phase | $ per resolved task | Tokens per resolved task |", "|---|---:|---:|");
      for (const p of v.perResolved)
        lines.push(`| ${p.phase} | ${formatUsd(p.costMicros, { precise: true })} | ${p.tokens.toLocaleString("en-US")} |`);
      const total = v.perResolved.reduce((s, p) => s + p.costMicros, 0);
      lines.push(
        `| **Total** | **${formatUsd(total, { precise: true })}** | **${v.perResolved.reduce((s, p) => s + p.tokens, 0).toLocaleString("en-US")}** |`,
      );
    }
  }
  return `${lines.join("\n")}\n`;
}
