import { test } from "node:test";
import assert from "node:assert/strict";
import { greet } from "../src/greet.js";
import { farewell } from "../src/farewell.js";

test("both are functions", () => {
  assert.equal(typeof greet, "function");
  assert.equal(typeof farewell, "function");
});
