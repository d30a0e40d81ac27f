/**
 * `TOLLGATE_SETUP_ENV`: variables the operator adds to setup commands (a registry mirror, a
 * proxy without credentials), as `NAME=value` pairs separated by newlines or commas.
 */
export function parseSetupEnv(text: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of (text ?? "").split(/[\n,]/).map((p) => p.trim())) {
    if (!pair) continue;
    const match = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(pair);
    if (!match) throw new Error(`TOLLGATE_SETUP_ENV: "${pair.slice(0, 40)}" is not NAME=value`);
    out[match[1]!] = match[2]!;
  }
  return out;
}
