/**
 * Which Node a project gets (issue 26), without the network: the resolution of what it asks, the
 * order of the files it may ask in, and the toolchain cache against a registry double that counts
 * what it is asked (a warm cache asks nothing).
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { detectProject } from "../../../src/setup/detect.js";
import { NodeToolchains, resolveNode, type Registry } from "../../../src/setup/node-toolchain.js";
import { parseRepoConfig } from "../../../src/config/repo-config.js";
import { captureLog } from "../../helpers/log.js";

const AVAILABLE = ["20.18.0", "20.20.2", "22.11.0", "22.23.5", "24.1.0", "24.12.0"];

describe("resolveNode", () => {
  it.each([
    ["22", "22.23.5", true],
    ["v22", "22.23.5", true],
    ["22.11", "22.11.0", true],
    ["22.11.0", "22.11.0", true],
    [">=20.19 <23", "22.23.5", true],
    ["^20.18.0 || ^22", "22.23.5", true],
    [">=18", "24.12.0", true], // an engines range: the newest release it allows
    ["lts/*", "24.12.0", true],
    ["node", "24.12.0", true],
    ["lts/iron", "20.20.2", true],
    [">=26", "24.12.0", false], // beyond what is offered: the nearest, said so
    ["<18", "20.18.0", false],
    ["22.99.1", "22.23.5", false], // an exact release that does not exist: the newest of its major
  ])("%s gives %s (satisfied: %s)", (spec, version, satisfied) => {
    const chosen = resolveNode(spec, AVAILABLE);
    expect(chosen.satisfied).toBe(satisfied);
    expect(chosen.version).toBe(version);
  });

  it("names nothing for words that are not versions, and nothing from an empty list", () => {
    expect(resolveNode("lts/nonsense", AVAILABLE)).toEqual({ satisfied: false });
    expect(resolveNode("$(touch /tmp/x)", AVAILABLE)).toEqual({ satisfied: false });
    expect(resolveNode("22", [])).toEqual({ satisfied: false });
  });
});

describe("the Node a project asks for", () => {
  const project = (files: Record<string, string>) => {
    const dir = mkdtempSync(path.join(tmpdir(), "tollgate-node-wanted-"));
    for (const [name, content] of Object.entries(files)) writeFileSync(path.join(dir, name), content);
    return dir;
  };
  const pkg = (extra: Record<string, unknown>) => JSON.stringify({ name: "x", ...extra });

  it("is read in the order version managers read it: .nvmrc, .node-version, .tool-versions, volta, devEngines, engines", async () => {
    const all = {
      "package.json": pkg({
        engines: { node: ">=18" },
        devEngines: { runtime: { name: "node", version: "^24" } },
        volta: { node: "20.18.0" },
      }),
      ".tool-versions": "python 3.12.1\nnodejs 22.11.0\n",
      ".node-version": "v22.12\n",
      ".nvmrc": "# the team's\nlts/jod\n",
    };
    expect((await detectProject(project(all))).node).toEqual({ wanted: "lts/jod", from: ".nvmrc" });
    const { [".nvmrc"]: _n, ...noNvmrc } = all;
    expect((await detectProject(project(noNvmrc))).node).toEqual({ wanted: "v22.12", from: ".node-version" });
    const { [".node-version"]: _v, ...asdf } = noNvmrc;
    expect((await detectProject(project(asdf))).node).toEqual({ wanted: "22.11.0", from: ".tool-versions" });
    const { [".tool-versions"]: _t, ...volta } = asdf;
    expect((await detectProject(project(volta))).node).toEqual({ wanted: "20.18.0", from: "volta.node" });
    expect(
      (
        await detectProject(
          project({
            "package.json": pkg({
              engines: { node: ">=18" },
              devEngines: { runtime: [{ name: "bun" }, { name: "node", version: "^24" }] },
            }),
          }),
        )
      ).node,
    ).toEqual({
      wanted: "^24",
      from: "devEngines.runtime",
    });
    expect((await detectProject(project({ "package.json": pkg({ engines: { node: ">=18" } }) }))).node).toEqual({
      wanted: ">=18",
      from: "engines.node",
    });
  });

  it("can be set in .github/tollgate.yml, checked like the rest of the file", () => {
    expect(parseRepoConfig({ toolchain: { node: "22" } }).toolchain.node).toBe("22");
    expect(() => parseRepoConfig({ toolchain: { node: "22; rm -rf /" } })).toThrow(/toolchain\.node/);
    expect(() => parseRepoConfig({ toolchain: { nod: "22" } })).toThrow(/nod/);
  });
});

describe("NodeToolchains", () => {
  /** A registry whose Node packages hold a `bin/node` script that prints its version; it counts what it is asked. */
  function fakeRegistry(): Registry & { asked: string[] } {
    const asked: string[] = [];
    return {
      asked,
      async versions(name) {
        asked.push(`versions ${name}`);
        return AVAILABLE;
      },
      async pack(name, version, dir) {
        asked.push(`pack ${name}@${version}`);
        const root = mkdtempSync(path.join(tmpdir(), "tollgate-fake-pkg-"));
        mkdirSync(path.join(root, "package", "bin"), { recursive: true });
        writeFileSync(path.join(root, "package", "bin", "node"), `#!/bin/sh\necho v${version}\n`, { mode: 0o755 });
        const tarball = path.join(dir, `${name}-${version}.tgz`);
        execFileSync("tar", ["-czf", tarball, "-C", root, "package"]);
        return tarball;
      },
    };
  }
  const pkgName = NodeToolchains.packageName();
  const maybe = pkgName ? it : it.skip;

  maybe("downloads the newest allowed major once; warm, and with the registry gone, nothing is downloaded", async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), "tollgate-toolchains-"));
    const registry = fakeRegistry();
    const clock = { t: Date.parse("2026-12-07T10:00:00Z") };
    const cold = new NodeToolchains(dataDir, { majors: [20, 22], registry, log: captureLog().log, now: () => clock.t });
    const chosen = await cold.choose({ wanted: ">=18", from: "engines.node" });
    expect(chosen).toMatchObject({ version: "22.23.5", satisfied: true, why: "Node 22.23.5, for `>=18` (engines.node)" });
    expect(execFileSync(path.join(chosen.bin!, "node"), { encoding: "utf8" }).trim()).toBe("v22.23.5");
    expect(registry.asked).toEqual([`versions ${pkgName}`, `pack ${pkgName}@22.23.5`]);

    // warm: another process, a day and a half later, with a registry that cannot be reached
    clock.t += 36 * 3_600_000;
    const gone: Registry = {
      versions: async () => {
        throw new Error("ENOTFOUND registry.npmjs.org");
      },
      pack: async () => {
        throw new Error("no download may happen");
      },
    };
    const warm = new NodeToolchains(dataDir, { majors: [20, 22], registry: gone, log: captureLog().log, now: () => clock.t });
    expect(await warm.choose({ wanted: "22", from: ".nvmrc" })).toMatchObject({ version: "22.23.5", bin: chosen.bin });
    expect(await warm.onHand()).toEqual(["22.23.5"]);
  });

  maybe("offers only the operator's majors: beyond them, the nearest, said so; `host` downloads nothing", async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), "tollgate-toolchains-"));
    const registry = fakeRegistry();
    const provided = new NodeToolchains(dataDir, { majors: [20, 22], registry, log: captureLog().log });
    expect(await provided.choose({ wanted: "^24", from: "devEngines.runtime" })).toMatchObject({
      version: "22.23.5",
      satisfied: false,
      why: "Node 22.23.5, the nearest Tollgate offers (majors 20, 22): `^24` (devEngines.runtime) cannot be met",
    });
    expect(await provided.choose(undefined)).toEqual({ why: "the host's Node: the project asks for no version" });
    const host = new NodeToolchains(dataDir, { majors: "host", registry, log: captureLog().log });
    registry.asked.length = 0;
    expect(await host.choose({ wanted: "22", from: ".nvmrc" })).toEqual({
      why: "the host's Node (TOLLGATE_NODE_VERSIONS=host), though the project asks for `22` (.nvmrc)",
    });
    expect(await host.corepack()).toBeUndefined();
    expect(registry.asked).toEqual([]);
    expect(existsSync(path.join(dataDir, "toolchains", "node", "24.12.0"))).toBe(false);
  });
});
