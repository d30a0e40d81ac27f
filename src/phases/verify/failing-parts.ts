/**
 * The failing parts of a command's output, for triage: the lines that look like errors (with a
 * little context) and the end of the log, within a character budget. A 50 KB test log becomes a
 * few KB the light model can read.
 */
const SIGNAL = /(error|fail|✕|✗|×|expected|received|assert|exception|traceback|panic|undefined|not found|cannot|TS\d{4})/i;

export function failingParts(output: string, maxChars = 6_000): string {
  const lines = output.split("\n");
  const keep = new Set<number>();
  lines.forEach((line, i) => {
    if (SIGNAL.test(line)) for (let j = Math.max(0, i - 2); j <= Math.min(lines.length - 1, i + 2); j++) keep.add(j);
  });
  const tailFrom = Math.max(0, lines.length - 30);
  for (let i = tailFrom; i < lines.length; i++) keep.add(i);
  const out: string[] = [];
  let last = -1;
  for (const i of [...keep].sort((a, b) => a - b)) {
    if (i !== last + 1) out.push(`[… ${i - last - 1} lines …]`);
    out.push(lines[i]!.slice(0, 400));
    last = i;
  }
  const text = out.join("\n");
  return text.length <= maxChars ? text : `[… start cut …]\n${text.slice(-maxChars)}`;
}
