import { test } from "node:test";
import assert from "node:assert/strict";
import { greet } from "../../src/greet.js";

test("greets informally", () => assert.equal(greet("Ada"), "Hi Ada"));
