/**
 * Micro-dollars as dollars for people: whole cents with 2 decimals ($0.09, $1,234.50), smaller
 * amounts with 4 ($0.0155), and `precise` always with 4 (tables, where columns line up).
 */
export function formatUsd(micros: number, options: { precise?: boolean } = {}): string {
  const dollars = micros / 1_000_000;
  const digits = options.precise || (micros % 10_000 !== 0 && Math.abs(dollars) < 1) ? 4 : 2;
  const sign = dollars < 0 ? "-" : "";
  return `${sign}$${Math.abs(dollars).toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits })}`;
}

export const usdToMicros = (usd: number) => Math.round(usd * 1_000_000);
