/**
 * Cost arithmetic over prices (their shape: src/config/price-list.ts). Costs are integer
 * micro-dollars: a price in dollars per million tokens is exactly micro-dollars per token, so a
 * call's cost is the sum over its token kinds of tokens × price, computed in thousandths of a
 * micro-dollar and rounded once.
 *
 * Where prices come from, in order: the operator's TOLLGATE_PRICES_FILE, then the overrides
 * shipped with Tollgate (src/llm/prices.ts, each with its dated source), then
 * `@pydantic/genai-prices` (src/llm/genai-prices.ts).
 *
 * A prompt-length band (`longPrompt`): when a request's prompt (input, cache writes and cache
 * reads together) is over `above` tokens, the whole request, output included, is billed at the
 * band's rates, as Anthropic bills it.
 */
import type { ModelPrice, Rates } from "../config/price-list.js";
import type { Usage } from "./model.js";
import { genaiPrice } from "./genai-prices.js";
import { undated } from "./model-id.js";

const thousandths = (dollarsPerMTok: number) => Math.round(dollarsPerMTok * 1000);

/** Where a price is found when no list names the model: the maintained package, by default. */
export type PriceBase = (model: string, at: Date) => ModelPrice | undefined;

export class PriceBook {
  readonly #byModel = new Map<string, ModelPrice[]>();
  #base: PriceBase = genaiPrice;

  /**
   * Later lists override earlier ones for the same model and effective date; a model no list
   * names (or names only from a later date) is priced by `@pydantic/genai-prices`.
   */
  static withBase(base: PriceBase, ...lists: ModelPrice[][]): PriceBook {
    const book = new PriceBook(...lists);
    book.#base = base;
    return book;
  }

  constructor(...lists: ModelPrice[][]) {
    for (const price of lists.flat()) {
      const entries = (this.#byModel.get(price.model) ?? []).filter((p) => p.effective !== price.effective);
      entries.push(price);
      entries.sort((a, b) => b.effective.localeCompare(a.effective));
      this.#byModel.set(price.model, entries);
    }
  }

  /**
   * The price in effect for `model` at `at`, or undefined when unknown. Only an exact id, or one
   * with a snapshot date (src/llm/model-id.ts), is known: never one that merely starts like it.
   */
  find(model: string, at: Date = new Date()): ModelPrice | undefined {
    const day = at.toISOString().slice(0, 10);
    const alias = undated(model);
    const entries = this.#byModel.get(model) ?? (alias === undefined ? undefined : this.#byModel.get(alias)) ?? [];
    return entries.find((p) => p.effective <= day) ?? this.#base(model, at);
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
    const found = this.find(model, at);
    if (!found) return null;
    // a newer tokenizer counts more tokens than the estimate; past a band's threshold, the dearer band
    const tokens = Math.ceil(inputTokens * tokenizerFactor(model));
    const band = found.longPrompt && tokens > found.longPrompt.above ? found.longPrompt : found;
    const inputRate = cache === "1h" ? band.cacheWrite1h : cache === "5m" ? Math.max(band.input, band.cacheWrite5m) : band.input;
    return Math.ceil((tokens * thousandths(inputRate) + maxTokens * thousandths(band.output)) / 1000);
  }
}

/**
 * A safety factor on the 4-characters-a-token estimate for the models whose tokenizer counts more
 * tokens for the same text (Opus 4.7 and later, and the 5 family: they share a newer vocabulary):
 * a budget reserves for this many more input tokens, and picks the dearer band when they pass its
 * threshold. A chosen margin, not a measured ratio.
 */
export const TOKENIZER_MARGIN = 1.35;
const NEWER_TOKENIZER = /^claude-(opus-4-[7-9]|opus-5|sonnet-5|haiku-5|fable-5|mythos-5)/;

/** The safety factor for `model`'s input estimate: TOKENIZER_MARGIN for the newer tokenizer, else 1. */
export function tokenizerFactor(model: string): number {
  return NEWER_TOKENIZER.test(model) ? TOKENIZER_MARGIN : 1;
}

/** The rates a request is billed at: the long-prompt band's when its prompt is over the threshold. */
export function ratesFor(price: ModelPrice, usage: Usage): Rates {
  if (!price.longPrompt) return price;
  const prompt = (usage.inputTokens ?? 0) + (usage.cacheWriteTokens ?? 0) + (usage.cacheReadTokens ?? 0);
  return prompt > price.longPrompt.above ? price.longPrompt : price;
}

export function costMicros(found: ModelPrice, usage: Usage): number | null {
  const price = ratesFor(found, usage);
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
