/**
 * The phase registry: every phase's name, in pipeline order, said once. Phase rows, ledger
 * rows, checkpoints, cost tables and commands all use these names. `setup` installs the
 * checkout's dependencies (no model call; it runs again on every attempt, as each attempt clones
 * afresh). `checkout` is a revision's record of the PR head it builds on (no model call).
 */
import type { ModelPhase as TieredPhase } from "../config/repo-config.js";

export const PHASE_NAMES = ["gate", "setup", "plan", "checkout", "execute", "verify", "review", "publish"] as const;
export type PhaseName = (typeof PHASE_NAMES)[number];

/** `PHASE.plan` and so on: a phase's name, checked by the compiler. */
export const PHASE = Object.freeze(Object.fromEntries(PHASE_NAMES.map((p) => [p, p])) as { readonly [K in PhaseName]: K });

/** The phases that call a model, each on a tier the repository chooses (`phases:` in its config, which names the same). */
export const MODEL_PHASES = [PHASE.gate, PHASE.plan, PHASE.execute, PHASE.verify, PHASE.review] as const satisfies readonly TieredPhase[];
export type ModelPhase = (typeof MODEL_PHASES)[number];

/** The phases of a loop round (execute → verify → review), in order. */
export const ROUND_PHASES: readonly PhaseName[] = [PHASE.execute, PHASE.verify, PHASE.review];

/** The phases a follow-up run can reuse from an earlier run, in order (`/retry plan` reuses those before plan). */
export const REUSABLE_PHASES = [PHASE.gate, PHASE.plan, PHASE.execute] as const;
export type ReusablePhase = (typeof REUSABLE_PHASES)[number];

/** The phases before `from`, which a run starting at `from` reuses. */
export function phasesBefore(from: ReusablePhase): ReusablePhase[] {
  return REUSABLE_PHASES.slice(0, REUSABLE_PHASES.indexOf(from));
}

/** A phase's rank in pipeline order (an unknown name sorts last). */
export function phaseRank(name: string): number {
  const i = (PHASE_NAMES as readonly string[]).indexOf(name);
  return i === -1 ? PHASE_NAMES.length : i;
}
