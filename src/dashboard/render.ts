/**
 * The dashboard's pages: Handlebars templates in the package's `dashboard/views/` (escaped by
 * default: every name, title and transcript line is text, never markup), in one layout.
 */
import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import Handlebars from "handlebars";
import { formatUsd } from "../llm/money.js";
import { formatDuration } from "../report/cost-table.js";

/** Works from both `src/dashboard` and `dist/dashboard`. */
export const DASHBOARD_DIR = fileURLToPath(new URL("../../dashboard/", import.meta.url));

/** JSON that is safe inside a `<script type="application/json">` (no `</script>` can end it early). */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, "\\u003c").replace(/>/g, "\\u003e").replace(/&/g, "\\u0026");
}

function engine(): typeof Handlebars {
  const hb = Handlebars.create();
  hb.registerHelper("eq", (a: unknown, b: unknown) => a === b);
  hb.registerHelper("isNull", (a: unknown) => a === null || a === undefined);
  hb.registerHelper("usd", (micros: number) => formatUsd(micros));
  hb.registerHelper("usdPrecise", (micros: number) => formatUsd(micros, { precise: true }));
  hb.registerHelper("pct", (n: number) => `${n.toFixed(1)}%`);
  hb.registerHelper("int", (n: number | null) => (n === null || n === undefined ? "–" : n.toLocaleString("en-US")));
  hb.registerHelper("inc", (n: number) => n + 1);
  hb.registerHelper("ms", (n: number) => formatDuration(n));
  hb.registerHelper("sum", (rows: Array<Record<string, number>>, key: string) => rows.reduce((s, r) => s + (r[key] ?? 0), 0));
  hb.registerHelper("json", (value: unknown) => new hb.SafeString(scriptJson(value)));
  return hb;
}

export type View = "overview" | "runs" | "run-rows" | "run" | "ledger" | "message";

export interface Layout {
  title: string;
  page?: string;
  /** Who is signed in; without, the navigation is hidden. */
  who?: string;
  canSignOut?: boolean;
}

export class Pages {
  readonly #templates = new Map<string, Handlebars.TemplateDelegate>();

  constructor(dir = `${DASHBOARD_DIR}views`) {
    const hb = engine();
    for (const file of readdirSync(dir).filter((f) => f.endsWith(".hbs"))) {
      const name = file.slice(0, -".hbs".length);
      const source = readFileSync(`${dir}/${file}`, "utf8");
      hb.registerPartial(name, source);
      this.#templates.set(name, hb.compile(source, { strict: false, noEscape: false }));
    }
  }

  fragment(view: View, data: object): string {
    return this.#templates.get(view)!(data);
  }

  page(view: View, layout: Layout, data: object): string {
    return this.#templates.get("layout")!({ ...layout, body: this.fragment(view, data) });
  }
}
