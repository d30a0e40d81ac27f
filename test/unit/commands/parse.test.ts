import { parseCommand } from "../../../src/commands/parse.js";

describe("parseCommand", () => {
  it.each([
    ["/retry", { name: "retry" }],
    ["/retry execute", { name: "retry", from: "execute" }],
    ["/RETRY Plan\nplease", { name: "retry", from: "plan" }],
    ["  /cancel  ", { name: "cancel" }],
    ["/status", { name: "status" }],
    ["/cost", { name: "cost" }],
    ["/approve", { name: "approve" }],
    ["/budget 12.50", { name: "budget", usd: 12.5 }],
    ["/budget $8", { name: "budget", usd: 8 }],
    ["/help", { name: "help" }],
    ["/deploy now", { name: "unknown", command: "deploy" }],
  ])("reads %j", (body, expected) => {
    expect(parseCommand(body)).toEqual(expected);
  });

  it.each([
    ["/budget abc", /give the run's new cap in dollars/],
    ["/budget -5", /give the run's new cap in dollars/],
    ["/budget 0", /give the run's new cap in dollars/],
    ["/budget 1e9", /give the run's new cap in dollars/],
    ["/budget 1000000", /more than Tollgate accepts \(\$10,000\)/],
    ["/budget", /give the run's new cap/],
    ["/retry nonsense", /`\/retry nonsense`: retry the whole run with `\/retry`, or from a phase with `\/retry gate\|plan\|execute`/],
    ["/retry plan execute", /from a phase/],
    ["/cancel now", /\/cancel takes no arguments/],
  ])("refuses %j with a reason", (body, problem) => {
    const command = parseCommand(body);
    expect(command?.name).toBe("invalid");
    expect((command as { problem: string }).problem).toMatch(problem);
  });

  it.each([
    ["please /retry this", "a command in the middle of a line"],
    ["Looks good.\n/retry", "a command on a later line"],
    ["```\n/retry\n```", "a command inside a code block"],
    ["", "an empty comment"],
    ["/ retry", "a lone slash"],
    ["//retry", "a double slash"],
  ])("ignores %j (%s)", (body) => {
    expect(parseCommand(body)).toBeNull();
  });

  it("reads only the first line of a 65,536-character comment", () => {
    expect(parseCommand(`/status\n${"x".repeat(65_528)}`)).toEqual({ name: "status" });
  });
});
