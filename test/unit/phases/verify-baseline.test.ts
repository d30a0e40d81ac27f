/** The baseline: which failed checks already failed the same way on the base commit. */
import { markPreexisting, type CheckResult } from "../../../src/phases/verify/verify.js";

const check = (argv: string[], exitCode: number | null, excerpt = "", over: Partial<CheckResult> = {}): CheckResult => ({
  argv,
  exitCode,
  timedOut: false,
  durationMs: 10,
  excerpt,
  ...over,
});

describe("markPreexisting", () => {
  const baseline = [
    check(["npm", "test"], 1, "✗ greets (12ms)\n  expected 'Hi Ada', got 'Hello Ada'"),
    check(["npm", "run", "e2e"], 3, "connect ECONNREFUSED 127.0.0.1:5432"),
    check(["npm", "run", "lint"], 0),
  ];

  it("marks a check that fails the same way as before the change, numbers aside", () => {
    const now = markPreexisting([check(["npm", "run", "e2e"], 3, "connect ECONNREFUSED 127.0.0.1:5433")], baseline);
    expect(now[0]!.preexisting).toBe(true);
  });

  it("does not mark a check that fails differently (the issue's own test, failing with another value), newly, or passes", () => {
    const now = markPreexisting(
      [
        check(["npm", "test"], 1, "✗ greets (15ms)\n  expected 'Hi Ada', got 'Hey Ada'"),
        check(["npm", "run", "lint"], 1, "src/a.ts: error"),
        check(["npm", "run", "e2e"], 0),
        check(["npm", "run", "e2e"], null, "connect ECONNREFUSED 127.0.0.1:5432", { timedOut: true }),
      ],
      baseline,
    );
    expect(now.map((c) => c.preexisting)).toEqual([undefined, undefined, undefined, undefined]);
  });

  it("changes nothing without a baseline", () => {
    const checks = [check(["npm", "test"], 1, "x")];
    expect(markPreexisting(checks, undefined)).toBe(checks);
    expect(markPreexisting(checks, [])).toBe(checks);
  });
});
