/**
 * Jest's order of test files, with the slowest known ones first. Without timings of an earlier
 * run (a fresh clone, as in CI), Jest starts the largest files first, and the pipeline's
 * end-to-end files are small (their cases live in pipeline-cases.ts): the longest one then
 * started last and ran alone for a minute and a half after everything else had finished.
 */
import Sequencer from "@jest/test-sequencer";

/** The slowest files of a CI run, slowest first (seconds in CI, 2026-11-30). */
const SLOWEST = [
  "integration/pipeline-1.test.ts", // 175
  "integration/pipeline-2.test.ts", // 83
  "integration/cli.test.ts", // 48
  "integration/agents-finish.test.ts", // 41
  "integration/authority-pipeline.test.ts", // 32
  "integration/pipeline-rounds.test.ts", // 30
  "integration/cli-run.test.ts", // 27
  "integration/limiter-workers.test.ts", // 23
  "integration/setup-real.test.ts", // 23
];

const rank = (path) => {
  const i = SLOWEST.findIndex((name) => path.endsWith(`/test/${name}`));
  return i === -1 ? SLOWEST.length : i;
};

export default class SlowFirst extends (Sequencer.default ?? Sequencer) {
  async sort(tests) {
    // stable: Jest's order (by earlier timings, or by size) among the rest
    return [...(await super.sort(tests))].sort((a, b) => rank(a.path) - rank(b.path));
  }
}
