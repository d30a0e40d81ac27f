/**
 * A model's price as data: the shape of the operator's TOLLGATE_PRICES_FILE (read by env.ts), of
 * the overrides shipped with Tollgate (src/llm/prices.ts) and of what `@pydantic/genai-prices`
 * gives (src/llm/genai-prices.ts). Rates are dollars per million tokens, by token kind; the
 * arithmetic over them is src/llm/pricing.ts's.
 */
import { z } from "zod";

export interface Rates {
  input: number;
  output: number;
  cacheWrite5m: number;
  cacheWrite1h: number;
  cacheRead: number;
}

export interface LongPromptBand extends Rates {
  /** The band applies to prompts of more than this many tokens. */
  above: number;
}

export interface ModelPrice extends Rates {
  model: string;
  /** ISO date the price took effect. */
  effective: string;
  longPrompt?: LongPromptBand;
  /** Where the price was read, and when (a URL and a date, or the package and its version). */
  source?: string;
}

const dollars = z.number().nonnegative().max(10_000);
const rates = { input: dollars, output: dollars, cacheWrite5m: dollars, cacheWrite1h: dollars, cacheRead: dollars };
export const modelPriceSchema = z.strictObject({
  model: z.string().min(1),
  effective: z.iso.date(),
  ...rates,
  longPrompt: z.strictObject({ above: z.int().positive(), ...rates }).optional(),
  source: z.string().max(500).optional(),
});
export const priceListSchema = z.array(modelPriceSchema) satisfies z.ZodType<ModelPrice[]>;
