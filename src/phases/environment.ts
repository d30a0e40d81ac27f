/**
 * The <environment> block of the plan, execute and fix prompts: what the agent may run, what
 * will check its work, what setup installed, what it cannot do (no network, no delete or rename),
 * which files are its own, and the repository's convention files. It depends only on the
 * repository's settings, what setup installed and the convention files, never on the unit or the
 * turn, so every agent of a run with the same role sends the same bytes (a cache hit).
 */
import type { RepoConfig } from "../config/repo-config.js";
import type { Installed } from "../setup/environment.js";
import { renderConventions, type ConventionFile } from "../context/conventions.js";

export type AgentRole = "plan" | "unit" | "fix";

export interface EnvironmentInput {
  role: AgentRole;
  /** The settings with what setup decided (`withSetup`): the verify commands and the allow-list. */
  config: Pick<RepoConfig, "commands" | "verify">;
  installed?: Pick<Installed, "paths">;
  /** Whether the agents' commands can run at all (a sandbox, and an allow-list that is not empty). */
  commandsRun: boolean;
  conventions: ConventionFile[];
  /** The name of the tool that ends the agent's work. */
  finish: string;
}

const argv = (a: string[]) => `\`${a.join(" ")}\``;

export function environmentBlock(input: EnvironmentInput): string {
  const { role, config } = input;
  const verify = config.verify.commands ?? [];
  const allow = config.commands.allow;
  const who = role === "plan" ? "The execution agents" : "You";
  const lines = [
    "<environment>",
    input.commandsRun
      ? `${who} may run these commands with \`run_command\` (an argv list starting with one of these prefixes; anything else is refused): ${allow.map(argv).join(", ")}. Each is killed after 120 s; long output is cut in the middle.`
      : `${who} cannot run any command${role === "plan" ? "" : " (there is no `run_command` tool)"}: nothing is allowed (commands.allow is empty) or there is no sandbox. Check the change by reading it.`,
    ...(role === "plan" ? ["You yourself only read: you have no command tool."] : []),
    verify.length
      ? `The checks that decide whether the change passes, run after ${role === "plan" ? "the units finish" : "you finish"}, on the merged work of all units: ${verify.map(argv).join(", ")}.${input.commandsRun && role !== "plan" ? " Run them (or the part that covers your change) before you finish." : ""}`
      : "No check commands are configured or detected: only the reviewer will judge the change, so read your change carefully.",
    input.installed?.paths.length
      ? `Setup installed the dependencies before the agents started (${input.installed.paths.join(", ")}, never committed). Do not try to install anything.`
      : "Setup installed nothing: the checks run with what is in the repository.",
    "There is no network: commands cannot download packages or reach any service.",
    "The editor creates and edits files; it cannot delete or rename them. Plan and work without deleting or moving files.",
    ownership(role),
    `Done is judged this way: the checks above run on the change, then a reviewer compares the diff with the plan's acceptance checks.${role === "plan" ? "" : ` Call \`${input.finish}\` when your part is done.`}`,
    "</environment>",
  ];
  const conventions = renderConventions(input.conventions);
  return conventions ? `${lines.join("\n")}\n\n${conventions}` : lines.join("\n");
}

function ownership(role: AgentRole): string {
  switch (role) {
    case "plan":
      return "Each work unit runs in its own copy of the repository, at the same time as the others: a unit sees only its own changes until they are merged. Give each unit the tests of its code, and every shared file (an index, types, configuration) to exactly one unit.";
    case "unit":
      return "You own the files listed in your work unit. Other units work at the same time in their own copies: their changes are NOT in this tree, so a test that needs their work may fail here. Do not write their files; say what you relied on in your summary.";
    case "fix":
      return "All the units' work is merged in this tree. You may change any file the feedback needs, within the plan's intent.";
  }
}
