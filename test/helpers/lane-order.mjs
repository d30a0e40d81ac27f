/**
 * Jest's order of test files: the end-to-end lane first, then `db`, then `fast`, so that the slow
 * files start first and the quick ones fill the end of the run on both workers; within a lane,
 * the largest first, counting the case modules a file imports from its own folder (the pipeline's
 * end-to-end files are small: their cases live in pipeline-cases.ts). No timings are written down:
 * the rule holds on a fresh clone (as in CI), where Jest has none of an earlier run.
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import Sequencer from "@jest/test-sequencer";

const LANES = ["e2e", "db", "fast"];
const SIBLING = /from\s+["']\.\/([^"']+?)(?:\.js)?["']/g;

/** A file's size plus that of the modules it imports from its own folder. */
function weight(file) {
  const text = readFileSync(file, "utf8");
  let bytes = text.length;
  for (const [, name] of text.matchAll(SIBLING)) {
    const sibling = path.join(path.dirname(file), `${name}.ts`);
    if (existsSync(sibling)) bytes += statSync(sibling).size;
  }
  return bytes;
}

export default class LaneOrder extends (Sequencer.default ?? Sequencer) {
  sort(tests) {
    const lane = (t) => {
      const i = LANES.indexOf(t.context.config.displayName?.name ?? "");
      return i === -1 ? LANES.length : i;
    };
    const weights = new Map(tests.map((t) => [t.path, weight(t.path)]));
    return [...tests].sort((a, b) => lane(a) - lane(b) || weights.get(b.path) - weights.get(a.path));
  }
}
