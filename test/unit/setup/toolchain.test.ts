import { parseSetupEnv, laterCommand } from "../../../src/setup/environment.js";
import { checkNode, toolchainPrograms, versionLine } from "../../../src/setup/toolchain.js";

describe("checkNode", () => {
  it("checks a range from engines", () => {
    expect(checkNode(">=18", "engines.node", "v20.20.2")).toMatchObject({ satisfied: true, available: "20.20.2" });
    const old = checkNode("^22.0.0", "engines.node", "v20.20.2");
    expect(old.satisfied).toBe(false);
    expect(old.line).toBe(
      "Node ^22.0.0 is wanted (engines.node), but the sandbox has Node 20.20.2: setup and the checks run on 20.20.2, so failures may come from the version, not the change.",
    );
  });

  it("takes an exact version (.nvmrc) on its major version, with or without a v", () => {
    expect(checkNode("v20.11.0", ".nvmrc", "v20.20.2").satisfied).toBe(true);
    expect(checkNode("20", ".node-version", "v20.20.2").satisfied).toBe(true);
    expect(checkNode("18.19.1", "volta.node", "v20.20.2").satisfied).toBe(false);
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
  const installed = { home: "/data/cache/1/o/r/k/home", bin: "/data/cache/1/o/r/k/bin", paths: ["node_modules", ".venv"] };

  it("runs offline with the caches read-only, and binds setup's installs into a worktree", () => {
    const main = laterCommand(installed, "/runs/x/repo", "/runs/x/repo");
    expect(main.binds).toEqual([]);
    expect(main.readOnly).toEqual([installed.home, installed.bin]);
    expect(main.env).toMatchObject({ npm_config_offline: "true", COREPACK_ENABLE_NETWORK: "0", GOPROXY: "off" });
    expect(main.env.PATH).toBe("/data/cache/1/o/r/k/bin:/runs/x/repo/.venv/bin:/usr/local/bin:/usr/bin:/bin");
    const worktree = laterCommand(installed, "/runs/x/repo", "/runs/x/worktrees/u1");
    expect(worktree.binds).toEqual([
      { from: "/runs/x/repo/node_modules", to: "/runs/x/worktrees/u1/node_modules" },
      { from: "/runs/x/repo/.venv", to: "/runs/x/worktrees/u1/.venv" },
    ]);
    expect(worktree.env.PATH).toContain("/runs/x/worktrees/u1/.venv/bin");
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
