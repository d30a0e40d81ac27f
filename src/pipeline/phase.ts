/**
 * The one phase wrapper. Every phase of a run goes through `PhaseRunner.run`, which
 *   - returns the stored output when this phase and iteration already succeeded (a resumed run
 *     does not redo, or pay for, finished work),
 *   - stops before starting when the run was cancelled,
 *   - records an attempt in the phase store (status, output, error, timing),
 *   - tells the progress display what changed,
 * so no phase repeats this bookkeeping. Costs are not copied here: the ledger attributes every
 * model call to its run, phase and iteration, and reports read it from there.
 */
import type { Logger } from "pino";
import { FinalError } from "../errors.js";
import type { PhaseRecord, PhaseStore } from "../stores/phases.js";
import type { PhaseName } from "../phases/registry.js";
import { phaseSpan } from "../observability/spans.js";

/** The run was cancelled (label removed, `/cancel`, Ctrl-C): it stops where it is. */
export class RunCancelled extends FinalError {
  override name = "RunCancelled";
}

/** Another worker took the run over (src/jobs/run-sweep.ts): this one stops and writes nothing more about it. */
export class RunTakenOver extends RunCancelled {
  override name = "RunTakenOver";
}

export interface PhaseResult<T> {
  value: T;
  /** True when the output came from a checkpoint of an earlier attempt. */
  restored: boolean;
}

export class PhaseRunner {
  constructor(
    private readonly store: PhaseStore,
    private readonly runId: string,
    private readonly log: Logger,
    private readonly options: { signal?: AbortSignal; onChange?: () => Promise<void> } = {},
  ) {}

  checkpoint<T>(name: PhaseName, iteration: number): Promise<T | undefined> {
    return this.store.checkpoint<T>(this.runId, name, iteration);
  }

  /**
   * Runs a phase, or returns its checkpoint. `fresh` phases run on every attempt, checkpoint or
   * not (setup: each attempt clones afresh, so what it installed is gone). Each is a span of the
   * run's trace.
   */
  run<T>(name: PhaseName, iteration: number, fn: () => Promise<T>, options: { fresh?: boolean } = {}): Promise<PhaseResult<T>> {
    return phaseSpan({ runId: this.runId, phase: name, iteration }, () => this.#run(name, iteration, fn, options));
  }

  async #run<T>(name: PhaseName, iteration: number, fn: () => Promise<T>, options: { fresh?: boolean }): Promise<PhaseResult<T>> {
    const stored = options.fresh ? undefined : await this.checkpoint<T>(name, iteration);
    if (stored !== undefined) {
      this.log.info({ phase: name, iteration }, "phase already done: its checkpoint is used");
      return { value: stored, restored: true };
    }
    if (this.options.signal?.aborted) throw new RunCancelled(`the run was cancelled before ${name}`);
    const { id, attempt } = await this.store.begin(this.runId, name, iteration);
    const log = this.log.child({ phase: name, iteration, attempt });
    log.info("phase started");
    await this.#changed();
    const started = Date.now();
    try {
      const value = await fn();
      await this.store.succeeded(id, value);
      log.info({ ms: Date.now() - started }, "phase succeeded");
      await this.#changed();
      return { value, restored: false };
    } catch (error) {
      // the run is another worker's now: its attempt row is theirs to close
      if (this.options.signal?.reason instanceof RunTakenOver) throw this.options.signal.reason;
      const cancelled = this.options.signal?.aborted || error instanceof RunCancelled;
      const message = error instanceof Error ? error.message : String(error);
      await this.store.ended(id, cancelled ? "cancelled" : "failed", message);
      log[cancelled ? "info" : "warn"]({ ms: Date.now() - started, err: error }, cancelled ? "phase cancelled" : "phase failed");
      await this.#changed();
      if (cancelled && !(error instanceof RunCancelled)) throw new RunCancelled(`the run was cancelled during ${name}`);
      throw error;
    }
  }

  phases(): Promise<PhaseRecord[]> {
    return this.store.list(this.runId);
  }

  async #changed(): Promise<void> {
    try {
      await this.options.onChange?.();
    } catch (error) {
      this.log.warn({ err: error }, "the progress display could not be updated");
    }
  }
}
