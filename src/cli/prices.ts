/**
 * `tollgate prices [MODEL]`: the price in force for a model (today, or `--at DATE`), where it
 * comes from and since when; without a model, every current Claude model's. Prices come from the
 * operator's TOLLGATE_PRICES_FILE, then Tollgate's overrides (src/llm/prices.ts), then
 * `@pydantic/genai-prices` (src/llm/genai-prices.ts).
 */
import Table from "cli-table3";
import type { AppEnv } from "../config/env.js";
import { priceBook } from "../app/model.js";
import { genaiModels, UNDATED } from "../llm/genai-prices.js";
import { PRICE_OVERRIDES } from "../llm/prices.js";
import type { ModelPrice, Rates } from "../config/price-list.js";
import type { PriceBook } from "../llm/pricing.js";
import { CliError } from "./errors.js";

export interface PricesOptions {
  at?: string;
}

const usd = (n: number) => `$${n}`;
const row = (label: string, r: Rates) => [label, usd(r.input), usd(r.cacheWrite5m), usd(r.cacheWrite1h), usd(r.cacheRead), usd(r.output)];
const HEAD = ["", "input", "5m cache write", "1h cache write", "cache hit", "output"];

function when(at: string | undefined): Date {
  if (at === undefined) return new Date();
  const date = new Date(`${at}T12:00:00Z`);
  if (!/^\d{4}-\d{2}-\d{2}$/.test(at) || Number.isNaN(date.getTime())) throw new CliError(`--at "${at}" is not a date like 2026-11-30`);
  return date;
}

const since = (price: ModelPrice) => (price.effective === UNDATED ? "(the package gives no start date)" : `since ${price.effective}`);

/** One model's price, as a small table and its source. */
function describe(price: ModelPrice): string {
  const table = new Table({ head: HEAD, style: { head: [], border: [] } });
  table.push(row("per million tokens", price));
  if (price.longPrompt)
    table.push(row(`prompts over ${price.longPrompt.above.toLocaleString("en-US")} tokens (the whole request)`, price.longPrompt));
  return [`${price.model}, in force ${since(price)}`, table.toString(), `source: ${price.source ?? "unknown"}`, ""].join("\n");
}

/** Every current Claude model: the package's that are not deprecated, and the overrides'. */
function currentModels(): string[] {
  const ids = new Set([
    ...genaiModels()
      // the current naming (claude-<family>-<version>): Claude 2 and 3 are retired
      .filter((m) => !m.deprecated && /^claude-(opus|sonnet|haiku|fable|mythos)-\d/.test(m.id))
      .map((m) => m.id),
    ...PRICE_OVERRIDES.map((p) => p.model),
  ]);
  return [...ids].sort();
}

export function pricesText(book: PriceBook, model: string | undefined, at: Date): string {
  if (model !== undefined) {
    const price = book.find(model, at);
    if (!price)
      throw new CliError(
        `no price for ${model} on ${at.toISOString().slice(0, 10)}: add it to TOLLGATE_PRICES_FILE (a model without a price is refused before its first call)`,
      );
    return describe(price);
  }
  const table = new Table({
    head: ["model", "input", "5m write", "1h write", "cache hit", "output", "long prompts", "since", "source"],
    style: { head: [], border: [] },
  });
  for (const id of currentModels()) {
    const price = book.find(id, at);
    if (!price) continue;
    const band = price.longPrompt
      ? `over ${price.longPrompt.above / 1000}K: ${usd(price.longPrompt.input)} / ${usd(price.longPrompt.output)}`
      : "";
    const source = (price.source ?? "").split(/[;(]/)[0]!.trim();
    table.push([
      id,
      usd(price.input),
      usd(price.cacheWrite5m),
      usd(price.cacheWrite1h),
      usd(price.cacheRead),
      usd(price.output),
      band,
      price.effective === UNDATED ? "" : price.effective,
      source,
    ]);
  }
  return `Prices in dollars per million tokens, in force on ${at.toISOString().slice(0, 10)}:\n${table.toString()}\n`;
}

export async function pricesCommand(env: AppEnv, model: string | undefined, options: PricesOptions): Promise<void> {
  process.stdout.write(pricesText(priceBook(env), model, when(options.at)));
}
