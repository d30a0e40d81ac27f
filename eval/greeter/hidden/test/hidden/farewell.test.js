import { test } from "node:test";
import assert from "node:assert/strict";
import { farewell } from "../../src/farewell.js";

test("says goodbye", () => assert.equal(farewell("Ada"), "Goodbye Ada"));
