/**
 * "Final or retry?" is the error's own answer (src/errors.ts): the run job retries what may pass
 * and ends, saying why, what would only repeat (and be paid for again).
 */
import { AgentLimitReached } from "../../src/agents/loop.js";
import { RepoConfigError } from "../../src/config/repo-config.js";
import { DatabaseUnavailableError } from "../../src/db/open.js";
import { isFinal, RetryableError, TollgateError } from "../../src/errors.js";
import { BudgetExceededError, DeadlineExceededError, ModelCallError, RETRYABLE, type ModelErrorKind } from "../../src/llm/errors.js";
import { ExecuteError } from "../../src/phases/execute/execute.js";
import { GateOutputError } from "../../src/phases/gate/gate.js";
import { PlanOutputError } from "../../src/phases/plan/plan.js";
import { StructuredOutputError } from "../../src/phases/structured.js";
import { RunTakenOver } from "../../src/pipeline/cancel.js";
import { RunCancelled } from "../../src/pipeline/phase.js";
import { GitError, HumanCommitError } from "../../src/workspace/workspace.js";

describe("the error hierarchy", () => {
  it.each([
    ["an unusable structured answer", new StructuredOutputError("no verdict")],
    ["an unusable gate answer", new GateOutputError("no verdict")],
    ["an unusable plan", new PlanOutputError("cycle")],
    ["a unit that could not be merged", new ExecuteError("conflict")],
    ["an agent out of turns", new AgentLimitReached("turns", "out of turns")],
    ["a budget", new BudgetExceededError("run", 1, 1, 1, "over")],
    ["a deadline", new DeadlineExceededError("late")],
    ["a git failure", new GitError("push refused")],
    ["a human's commit on the branch", new HumanCommitError("someone pushed")],
    ["an invalid config", new RepoConfigError(["trigger.label: too long"])],
    ["a cancel", new RunCancelled("cancelled")],
    ["a take-over", new RunTakenOver("taken over")],
  ])("%s is final: a retry would only repeat it", (_what, error) => {
    expect(error).toBeInstanceOf(TollgateError);
    expect(isFinal(error)).toBe(true);
  });

  it("a database not reachable yet may pass", () => {
    const error = new DatabaseUnavailableError("connection refused");
    expect(error).toBeInstanceOf(RetryableError);
    expect(isFinal(error)).toBe(false);
  });

  it("a model error decides by its kind", () => {
    const kinds: ModelErrorKind[] = [
      "rate_limit",
      "spend_limit",
      "overloaded",
      "server",
      "stream",
      "connection",
      "timeout",
      "invalid_response",
      "auth",
      "permission",
      "bad_request",
      "not_found",
      "aborted",
    ];
    for (const kind of kinds) expect([kind, isFinal(new ModelCallError(kind, "x"))]).toEqual([kind, !RETRYABLE.has(kind)]);
    expect(isFinal(new ModelCallError("overloaded", "529"))).toBe(false);
    expect(isFinal(new ModelCallError("auth", "401"))).toBe(true);
  });

  it("an error that is not Tollgate's own (GitHub down, a crash) is retried", () => {
    expect(isFinal(new Error("socket hang up"))).toBe(false);
    expect(isFinal(Object.assign(new Error("Bad Gateway"), { status: 502 }))).toBe(false);
    expect(isFinal("a string")).toBe(false);
  });
});
