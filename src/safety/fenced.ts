/**
 * A command's output as a fenced code block that no backtick run in it can close: the fence is
 * longer than the longest run, so what a command printed stays text, never markdown.
 */
export function fenced(text: string): string[] {
  const fence = "`".repeat(Math.max(3, ...[...text.matchAll(/`+/g)].map((m) => m[0].length + 1)));
  return [`${fence}text`, text || "(no output)", fence];
}
