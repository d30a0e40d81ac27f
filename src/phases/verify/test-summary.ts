/**
 * How many tests a check ran, read from the summary lines the common runners print: Jest
 * ("Tests: 2 failed, 332 passed, 334 total", once per run: a script that runs Jest twice counts
 * both), Vitest ("Tests  334 passed (334)"), pytest ("=== 3 failed, 12 passed in 0.41s ==="),
 * node --test and TAP ("# pass 12", "# fail 0"), Go ("--- FAIL:" / "ok  pkg" lines are not
 * counted: `go test` prints no totals without -v). Undefined when no summary is found.
 */
export interface TestCount {
  passed: number;
  failed: number;
  skipped: number;
}

const PATTERNS: Array<{ line: RegExp; kinds: Record<string, keyof TestCount> }> = [
  // Jest and Vitest: "Tests:       1 failed, 1 skipped, 332 passed, 334 total" / " Tests  334 passed (334)"
  { line: /^\s*Tests:?\s+((?:\d+ \w+,?\s*)+)/gm, kinds: { passed: "passed", failed: "failed", skipped: "skipped", todo: "skipped" } },
  // pytest: "==== 3 failed, 12 passed, 1 skipped in 0.41s ===="
  {
    line: /^=+ ((?:\d+ \w+,?\s*)+) in [\d.]+s/gm,
    kinds: { passed: "passed", failed: "failed", error: "failed", errors: "failed", skipped: "skipped" },
  },
];

/** The tests a check's output says were run, summed over every summary line; undefined when it says none. */
export function countTests(output: string): TestCount | undefined {
  const count: TestCount = { passed: 0, failed: 0, skipped: 0 };
  let found = false;
  for (const { line, kinds } of PATTERNS) {
    for (const match of output.matchAll(line)) {
      for (const [, n, word] of match[1]!.matchAll(/(\d+) (\w+)/g)) {
        const kind = kinds[word!];
        if (!kind) continue;
        count[kind] += Number(n);
        found = true;
      }
    }
  }
  // node --test and TAP: "# pass 12" / "# fail 0" / "# skipped 1"
  for (const [, word, n] of output.matchAll(/^# (pass|fail|skip|skipped) (\d+)$/gm)) {
    count[word === "pass" ? "passed" : word === "fail" ? "failed" : "skipped"] += Number(n);
    found = true;
  }
  return found ? count : undefined;
}

/** "334 passed", "2 failed, 332 passed, 1 skipped". */
export function describeCount(count: TestCount): string {
  const parts = [count.failed ? `${count.failed} failed` : "", `${count.passed} passed`, count.skipped ? `${count.skipped} skipped` : ""];
  return parts.filter(Boolean).join(", ");
}
