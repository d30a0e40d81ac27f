/**
 * The hidden check that decides whether a task was resolved: the run's branch cloned afresh, its
 * dependencies set up as the run's were (the same cache), the hidden files added (files the
 * agents never saw), and the task's command run in the sandbox. Exit 0 is resolved.
 */
import { constants } from "node:fs";
import { lstat, mkdir, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import type { Logger } from "pino";
import type { RepoConfig } from "../config/repo-config.js";
import { workTree } from "../phases/agent-env.js";
import { TOLLGATE_IDENTITY } from "../pipeline/carry-out.js";
import { CommandRunner } from "../agents/tools/command.js";
import type { Sandbox } from "../sandbox/sandbox.js";
import type { DependencyCache } from "../setup/cache.js";
import type { NodeToolchains } from "../setup/node-toolchain.js";
import { runSetup, SetupFailed } from "../setup/setup.js";
import { Workspace } from "../workspace/workspace.js";
import type { EvalTask } from "./suite.js";

export interface HiddenCheckInput {
  /** The task's repository, with the run's branch in it. */
  repo: string;
  branch: string;
  /** The task's starting branch: what the run's branch is set up from. */
  baseBranch: string;
  task: EvalTask;
  hidden: Map<string, Buffer>;
  config: RepoConfig;
  sandbox: Sandbox;
  cache?: DependencyCache;
  /** The Node versions Tollgate provides (the run's own), so the check runs on the Node the run did. */
  toolchains?: NodeToolchains;
  extraEnv?: Record<string, string>;
  /** An empty folder to work in. */
  dir: string;
  log: Logger;
}

export interface HiddenCheckResult {
  passed: boolean;
  /** How the command ended, or why it did not run. */
  detail: string;
  /** Its last lines. */
  tail: string;
}

export async function hiddenCheck(input: HiddenCheckInput): Promise<HiddenCheckResult> {
  const { task } = input;
  const hidden = task.hidden!;
  const ws = await Workspace.clone({
    remoteUrl: input.repo,
    dir: path.join(input.dir, "check"),
    branch: input.branch,
    identity: TOLLGATE_IDENTITY,
  });
  try {
    // the run's branch is an agent's answer: it installs with the network off, from what the
    // task's starting commit installs (filled in a worktree of its own), never with the way out
    const setup = await runSetup({
      ws,
      config: input.config,
      sandbox: input.sandbox,
      trust: {
        trusted: false,
        why: "an evaluation's branch holds the agents' answer",
        base: async () => {
          const sha = await ws.fetchBranch(input.baseBranch);
          if (!sha) throw new SetupFailed(`the task's starting branch \`${input.baseBranch}\` is missing`);
          return sha;
        },
      },
      ...(input.cache ? { cache: { store: input.cache, scope: { repository: `eval/${task.id}` } } } : {}),
      extraEnv: input.extraEnv,
      ...(input.toolchains && { toolchains: input.toolchains }),
      log: input.log,
    }).catch((error: unknown) => {
      if (error instanceof SetupFailed) return error;
      throw error;
    });
    if (setup instanceof SetupFailed)
      return { passed: false, detail: setup.message.split("\n")[0]!, tail: setup.message.split("\n").slice(-30).join("\n") };
    for (const [file, content] of input.hidden) {
      const link = await symlinkOnTheWay(ws.dir, file);
      if (link) return { passed: false, detail: `the branch has a symlink at ${link}, where a hidden file goes: not written`, tail: "" };
      await mkdir(path.dirname(path.join(ws.dir, file)), { recursive: true });
      // O_EXCL with O_NOFOLLOW: a file the branch put there, or a link made meanwhile, is never written through
      await rm(path.join(ws.dir, file), { force: true });
      await writeFile(path.join(ws.dir, file), content, {
        flag: constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
      });
    }
    const tree = workTree(setup.installed, ws, ws.dir, input.config.env);
    const runner = new CommandRunner({
      cwd: tree.dir,
      allow: [hidden.command],
      sandbox: input.sandbox,
      readOnly: tree.readOnly,
      binds: tree.binds,
      runDir: tree.runDir,
      env: tree.env,
      timeoutMs: hidden.timeout_seconds * 1000,
    });
    const result = await runner.run(hidden.command);
    const tail = result.output.split("\n").slice(-30).join("\n");
    const detail = result.timedOut ? "timed out" : result.limit ? `stopped at the ${result.limit} limit` : `exit ${result.exitCode}`;
    return { passed: result.exitCode === 0 && !result.timedOut, detail, tail };
  } finally {
    await ws.remove();
  }
}

/**
 * The first part of `file`'s path under `root` that is a symlink, if any. The run's branch was
 * written by agents: a link there (`test/hidden -> /home/…`) would carry a hidden file's write out
 * of the checkout, onto the host.
 */
async function symlinkOnTheWay(root: string, file: string): Promise<string | undefined> {
  const parts = file.split(/[\\/]/);
  for (let i = 1; i <= parts.length; i++) {
    const rel = parts.slice(0, i).join("/");
    const info = await lstat(path.join(root, rel)).catch(() => undefined);
    if (!info) return undefined; // nothing there yet: the rest is made by us
    if (info.isSymbolicLink()) return rel;
  }
  return undefined;
}
