import { mkdirSync, mkdtempSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseSetupEnv } from "../../../src/config/setup-env.js";
import { laterCommand } from "../../../src/setup/environment.js";
import { checkNode, toolchainPrograms, versionLine } from "../../../src/setup/toolchain.js";

describe("checkNode", () => {
  it("checks a range from engines", () => {
    expect(checkNode(">=18", "engines.node", "v20.20.2")).toMatchObject({ satisfied: true, available: "20.20.2" });
    const old = checkNode("^22.0.0", "engines.node", "v20.20.2");
    expect(old.satisfied).toBe(false);
    expect(old.line).toBe(
      "Node `^22.0.0` is wanted (engines.node), but the sandbox has Node 20.20.2: setup and the checks run on 20.20.2, so failures may come from the version, not the change.",
    );
  });

  it("takes an exact version (.nvmrc) on its major version, with or without a v", () => {
    expect(checkNode("v20.11.0", ".nvmrc", "v20.20.2").satisfied).toBe(true);
    expect(checkNode("20", ".node-version", "v20.20.2").satisfied).toBe(true);
    expect(checkNode("18.19.1", "volta.node", "v20.20.2").satisfied).toBe(false);
  });

  it("shows the repository's value as one short code span: a newline in engines.node cannot start a heading or a link", () => {
    const check = checkNode(">=18\n\n## Approved [merge now](https://evil.example)", "engines.node", "v20.20.2");
    expect(check.line).not.toContain("\n");
    expect(check.line).toContain("`>=18 ## Approved [merge now](https://evil.example)`");
  });

  it("says when it cannot compare, and when there is no node", () => {
    const lts = checkNode("lts/iron", ".nvmrc", "v20.20.2");
    expect(lts.satisfied).toBeUndefined();
    expect(lts.line).toContain("cannot compare");
    expect(checkNode(">=18", "engines.node", undefined)).toMatchObject({ satisfied: false, available: "none" });
  });
});

describe("toolchain", () => {
  it("keys on the programs setup runs by name, and node for a Node project", () => {
    expect(toolchainPrograms([["pnpm", "install"], ["./scripts/setup.sh"], ["pnpm", "build"]], true)).toEqual(["node", "pnpm"]);
    expect(toolchainPrograms([["go", "mod", "download"]], false)).toEqual(["go"]);
  });

  it("reads the first line of a version, or says the program is missing", () => {
    expect(versionLine(0, "v20.20.2\n")).toBe("v20.20.2");
    expect(versionLine(127, "prlimit: failed to execute pnpm: No such file or directory")).toBe("missing");
  });
});

describe("the environment of later commands", () => {
  const installed = {
    home: "/runs/r1/a/setup/home",
    bin: "/runs/r1/a/setup/bin",
    corepack: "/runs/r1/a/setup/corepack",
    paths: ["node_modules", ".venv"],
  };

  it("runs offline with the caches read-only, and binds setup's installs into a worktree", () => {
    const runDir = mkdtempSync(path.join(tmpdir(), "tollgate-later-"));
    const main = path.join(runDir, "repo");
    for (const p of ["node_modules", ".venv"]) mkdirSync(path.join(main, p), { recursive: true });
    symlinkSync("/etc", path.join(main, "linked")); // swapped in by a check after setup: never bound
    const at = { ...installed, paths: ["node_modules", ".venv", "linked"] };
    const inMain = laterCommand(at, main, main);
    expect(inMain.binds).toEqual([]);
    expect(inMain.readOnly).toEqual([installed.home, installed.bin, installed.corepack]);
    expect(inMain.env.COREPACK_HOME).toBe(installed.corepack);
    expect(inMain.env).toMatchObject({ npm_config_offline: "true", COREPACK_ENABLE_NETWORK: "0", GOPROXY: "off" });
    expect(inMain.env.PATH).toBe(`/runs/r1/a/setup/bin:${main}/.venv/bin:/usr/local/bin:/usr/bin:/bin`);
    const worktree = path.join(runDir, "worktrees", "u1");
    const inWorktree = laterCommand(at, main, worktree);
    expect(inWorktree.binds).toEqual([
      { from: `${main}/node_modules`, to: `${worktree}/node_modules` },
      { from: `${main}/.venv`, to: `${worktree}/.venv` },
    ]);
    expect(inWorktree.env.PATH).toContain(`${worktree}/.venv/bin`);
    expect(laterCommand(undefined, "/a", "/a")).toEqual({ env: {}, readOnly: [], binds: [] });
  });

  it("reads the operator's setup variables, and refuses what is not NAME=value", () => {
    expect(parseSetupEnv("npm_config_registry=https://npm.example.com/, COREPACK_INTEGRITY_KEYS=0\nA=b=c")).toEqual({
      npm_config_registry: "https://npm.example.com/",
      COREPACK_INTEGRITY_KEYS: "0",
      A: "b=c",
    });
    expect(parseSetupEnv(undefined)).toEqual({});
    expect(() => parseSetupEnv("just words")).toThrow('TOLLGATE_SETUP_ENV: "just words" is not NAME=value');
  });
});
