/**
 * Prices as data and cost arithmetic. Costs are integer micro-dollars: a price in dollars per
 * million tokens is exactly micro-dollars per token, so a call's cost is the sum over its token
 * kinds of tokens × price, computed in thousandths of a micro-dollar and rounded once.
 */
import { z } from "zod";
import type { Usage } from "./model.js";

export interface ModelPrice {
  model: string;
  /** ISO date the price took effect. */
  effective: string;
  input: number;
  output: number;
  cacheWrite5m: number;
  cacheWrite1h: number;
  cacheRead: number;
}

const dollars = z.number().nonnegative().max(10_000);
export const modelPriceSchema = z.strictObject({
  model: z.string().min(1),
  effective: z.iso.date(),
  input: dollars,
  output: dollars,
  cacheWrite5m: dollars,
  cacheWrite1h: dollars,
  cacheRead: dollars,
});
export const priceListSchema = z.array(modelPriceSchema);

/** `claude-haiku-4-5-20251001` → `claude-haiku-4-5`. */
function withoutDate(model: string): string {
  return model.replace(/-\d{8}$/, "");
}

const thousandths = (dollarsPerMTok: number) => Math.round(dollarsPerMTok * 1000);

export class PriceBook {
  readonly #byModel = new Map<string, ModelPrice[]>();

  /** Later lists override earlier ones for the same model and effective date. */
  constructor(...lists: ModelPrice[][]) {
    for (const price of lists.flat()) {
      const entries = (this.#byModel.get(price.model) ?? []).filter((p) => p.effective !== price.effective);
      entries.push(price);
      entries.sort((a, b) => b.effective.localeCompare(a.effective));
      this.#byModel.set(price.model, entries);
    }
  }

  /** The price in effect for `model` at `at`, or undefined when unknown. */
  find(model: string, at: Date = new Date()): ModelPrice | undefined {
    const day = at.toISOString().slice(0, 10);
    const entries = this.#byModel.get(model) ?? this.#byModel.get(withoutDate(model)) ?? [];
    return entries.find((p) => p.effective <= day);
  }

  /**
   * The cost of `usage` on `model` in micro-dollars, or `null` when it cannot be known: no price
   * for the model, or a token count that the provider did not report.
   */
  cost(model: string, usage: Usage, at?: Date): number | null {
    const price = this.find(model, at);
    return price ? costMicros(price, usage) : null;
  }

  /**
   * The most a call could cost: every input token at the dearest rate the request allows (a
   * cache write when it has breakpoints, else plain input) and all of `maxTokens` as output.
   */
  worstCase(model: string, inputTokens: number, maxTokens: number, cache: "none" | "5m" | "1h", at?: Date): number | null {
    const price = this.find(model, at);
    if (!price) return null;
    const inputRate = cache === "1h" ? price.cacheWrite1h : cache === "5m" ? Math.max(price.input, price.cacheWrite5m) : price.input;
    return Math.ceil((inputTokens * thousandths(inputRate) + maxTokens * thousandths(price.output)) / 1000);
  }
}

export function costMicros(price: ModelPrice, usage: Usage): number | null {
  const parts: Array<[number | null, number]> = [
    [usage.inputTokens, price.input],
    [usage.outputTokens, price.output],
    [usage.cacheWrite5mTokens, price.cacheWrite5m],
    [usage.cacheWrite1hTokens, price.cacheWrite1h],
    [usage.cacheReadTokens, price.cacheRead],
  ];
  if (usage.cacheWriteTokens === 0) {
    parts[2] = [0, price.cacheWrite5m];
    parts[3] = [0, price.cacheWrite1h];
  }
  let total = 0;
  for (const [tokens, dollarsPerMTok] of parts) {
    if (tokens === null) return null;
    total += tokens * thousandths(dollarsPerMTok);
  }
  return Math.round(total / 1000);
}
