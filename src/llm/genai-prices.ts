/**
 * The base of the price book: `@pydantic/genai-prices` (maintained by Pydantic; its data is
 * bundled in the package and read offline, never fetched at run time), read for Anthropic's
 * models and turned into Tollgate's `ModelPrice`: dollars per million tokens for each token kind,
 * the date the price took effect, and a prompt-length band when the package has one (its tiers:
 * past the threshold, the whole request is billed at the higher rates).
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { calcPrice, findProvider, type ModelInfo, type ModelPrice as GenaiPrice } from "@pydantic/genai-prices";
import type { LongPromptBand, ModelPrice } from "../config/price-list.js";
import { undated } from "./model-id.js";

const PACKAGE = "@pydantic/genai-prices";
/** The date given to a price the package does not date (its first, unconditional one). */
export const UNDATED = "1970-01-01";

/** The package's version, for the source line of every price it gives. */
export const GENAI_PRICES_VERSION: string = (() => {
  try {
    const entry = fileURLToPath(import.meta.resolve(PACKAGE));
    return (JSON.parse(readFileSync(new URL("../package.json", `file://${entry}`), "utf8")) as { version: string }).version;
  } catch {
    return "unknown";
  }
})();

type Rate = number | { base: number; tiers: Array<{ start: number; price: number }> } | undefined;

const base = (rate: Rate): number | undefined => (typeof rate === "number" ? rate : rate?.base);
const tier = (rate: Rate): { start: number; price: number } | undefined => (typeof rate === "object" ? rate.tiers[0] : undefined);

/** The package's price record as Tollgate's, or undefined when it lacks the input or output rate. */
function convert(info: ModelInfo, price: GenaiPrice, effective: string): ModelPrice | undefined {
  const rates = {
    input: price.input_mtok as Rate,
    output: price.output_mtok as Rate,
    cacheWrite5m: price.cache_write_mtok as Rate,
    cacheWrite1h: price.cache_write_1h_mtok as Rate,
    cacheRead: price.cache_read_mtok as Rate,
  };
  const input = base(rates.input);
  const output = base(rates.output);
  if (input === undefined || output === undefined) return undefined;
  // Anthropic's cache writes cost 1.25× (5 minutes) and 2× (1 hour) the input rate, cache hits 0.1×
  const cacheWrite5m = base(rates.cacheWrite5m) ?? input * 1.25;
  const cacheWrite1h = base(rates.cacheWrite1h) ?? input * 2;
  const cacheRead = base(rates.cacheRead) ?? input * 0.1;
  const band = tier(rates.input);
  const longPrompt: LongPromptBand | undefined = band && {
    above: band.start,
    input: band.price,
    output: tier(rates.output)?.price ?? output,
    cacheWrite5m: tier(rates.cacheWrite5m)?.price ?? cacheWrite5m,
    cacheWrite1h: tier(rates.cacheWrite1h)?.price ?? cacheWrite1h,
    cacheRead: tier(rates.cacheRead)?.price ?? cacheRead,
  };
  return {
    model: info.id,
    effective,
    input,
    output,
    cacheWrite5m,
    cacheWrite1h,
    cacheRead,
    ...(longPrompt && { longPrompt }),
    source: `${PACKAGE} ${GENAI_PRICES_VERSION} (its model ${info.id}${info.deprecated ? ", deprecated" : ""})`,
  };
}

/** The date the price in force at `at` took effect (a conditional price's start date), or the epoch. */
function effectiveDate(info: ModelInfo, at: Date): string {
  if (!Array.isArray(info.prices)) return UNDATED;
  const day = at.toISOString().slice(0, 10);
  const starts = info.prices
    .map((p) => (p.constraint?.type === "start_date" ? p.constraint.start_date.slice(0, 10) : UNDATED))
    .filter((d) => d <= day)
    .sort();
  return starts.at(-1) ?? UNDATED;
}

type Match = { equals?: string; or?: Match[]; and?: Match[] } & Record<string, unknown>;

/** The ids a `match` clause names exactly (its `equals`); prefixes, substrings and patterns name none. */
function exactIds(match: Match | undefined): string[] {
  if (!match) return [];
  if (typeof match.equals === "string") return [match.equals];
  return [...(match.or ?? []), ...(match.and ?? [])].flatMap(exactIds);
}

let exactNames: Map<string, string> | undefined;

/**
 * The package's Anthropic model an id names exactly: the model's own id, that id without
 * `-latest` (`claude-3-5-haiku`), an id its match gives with `equals`, or one of these with a
 * snapshot date. The package also matches by prefix (`claude-haiku-4-5…` is Haiku 4.5), which
 * would price any invented id: those are unknown here.
 */
export function genaiModelFor(model: string): string | undefined {
  exactNames ??= new Map(
    (findProvider({ providerId: "anthropic" })?.models ?? []).flatMap((m) =>
      [m.id, m.id.replace(/-latest$/, ""), ...exactIds(m.match as Match)].map((name) => [name, m.id] as const),
    ),
  );
  return exactNames.get(model) ?? exactNames.get(undated(model) ?? "");
}

/** The package's price for an Anthropic `model` at `at`, or undefined when it has none or the id is not exactly one of its models. */
export function genaiPrice(model: string, at: Date): ModelPrice | undefined {
  const id = genaiModelFor(model);
  if (id === undefined) return undefined;
  const found = calcPrice({ input_tokens: 0, output_tokens: 0 }, model, { providerId: "anthropic", timestamp: at });
  if (!found || found.model.id !== id) return undefined;
  return convert(found.model, found.model_price, effectiveDate(found.model, at));
}

/** Every Anthropic model the package prices (its ids), with whether it is deprecated. */
export function genaiModels(): Array<{ id: string; deprecated: boolean }> {
  return (findProvider({ providerId: "anthropic" })?.models ?? []).map((m) => ({ id: m.id, deprecated: m.deprecated === true }));
}
