import { countTests, describeCount } from "../../../src/phases/verify/test-summary.js";

describe("countTests", () => {
  it("sums Jest's summaries (a test script that runs Jest twice counts both)", () => {
    const output = [
      "PASS src/index.test.ts",
      "Test Suites: 4 passed, 4 total",
      "Tests:       167 passed, 167 total",
      "Snapshots:   0 total",
      "> jest --env @edge-runtime/jest-environment",
      "Test Suites: 1 failed, 3 passed, 4 total",
      "Tests:       2 failed, 1 skipped, 164 passed, 167 total",
    ].join("\n");
    expect(countTests(output)).toEqual({ passed: 331, failed: 2, skipped: 1 });
  });

  it("reads Vitest, pytest and node --test", () => {
    expect(countTests(" Test Files  3 passed (3)\n      Tests  41 passed | 1 todo (42)\n")).toEqual({ passed: 41, failed: 0, skipped: 0 });
    expect(countTests("========== 3 failed, 12 passed, 1 skipped in 0.41s ==========")).toEqual({ passed: 12, failed: 3, skipped: 1 });
    expect(countTests("# tests 3\n# suites 0\n# pass 2\n# fail 1\n# skipped 0\n")).toEqual({ passed: 2, failed: 1, skipped: 0 });
  });

  it("says nothing when there is no summary", () => {
    expect(countTests("ok  \texample.com/pkg\t0.012s\n")).toBeUndefined();
    expect(countTests("")).toBeUndefined();
  });

  it("describes a count briefly", () => {
    expect(describeCount({ passed: 334, failed: 0, skipped: 0 })).toBe("334 passed");
    expect(describeCount({ passed: 332, failed: 2, skipped: 1 })).toBe("2 failed, 332 passed, 1 skipped");
  });
});
