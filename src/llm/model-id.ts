/**
 * Dated model ids. A model id is priced only when a price list names it exactly, or names it
 * without its snapshot date (`claude-haiku-4-5-20251001` is `claude-haiku-4-5`): never by prefix,
 * so that a repository cannot invent ids (each would be a new `model` label on the metrics).
 * The date must be a real calendar day, so a model has at most one dated id a day.
 */
const DATED = /^(.+)-(\d{4})(\d{2})(\d{2})$/;

/** `claude-haiku-4-5-20251001` → `claude-haiku-4-5`; undefined when `model` ends in no real date. */
export function undated(model: string): string | undefined {
  const m = DATED.exec(model);
  if (!m) return undefined;
  const [year, month, day] = [Number(m[2]), Number(m[3]), Number(m[4])];
  const date = new Date(Date.UTC(year, month - 1, day));
  const real = date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
  return real && year >= 2023 ? m[1] : undefined;
}
