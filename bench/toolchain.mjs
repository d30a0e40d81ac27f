// bench/toolchain: the time to provide a Node version from the npm registry, cold (the registry's
// list of versions, the download, the unpack) and warm (on hand), through the built code.
//
//   npm run build && node bench/toolchain.mjs [SPEC] [RUNS]
//
// SPEC: what a project asks for (default "22"); RUNS: cold/warm pairs, each in a fresh data folder.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import pino from "pino";
import { NodeToolchains, npmRegistry } from "../dist/setup/node-toolchain.js";

const spec = process.argv[2] ?? "22";
const runs = Number(process.argv[3] ?? 3);
const log = pino({ level: "warn" });
const env = process.env.TOLLGATE_SETUP_ENV ? Object.fromEntries(process.env.TOLLGATE_SETUP_ENV.split(",").map((p) => p.split("="))) : {};
const rows = [];
for (let i = 0; i < runs; i++) {
  const dataDir = mkdtempSync(path.join(tmpdir(), "tollgate-bench-toolchain-"));
  const provide = async () => {
    const toolchains = new NodeToolchains(dataDir, { majors: [20, 22, 24], registry: npmRegistry(env), log });
    const started = process.hrtime.bigint();
    const choice = await toolchains.choose({ wanted: spec, from: "bench" });
    return { ms: Number(process.hrtime.bigint() - started) / 1e6, version: choice.version };
  };
  const cold = await provide();
  const warm = await provide();
  rows.push({ cold: cold.ms, warm: warm.ms, version: cold.version });
  rmSync(dataDir, { recursive: true, force: true });
}
console.log(`# bench/toolchain: Node for \`${spec}\`, ${runs} cold/warm pairs\n`);
console.log("| run | version | cold (list, download, unpack) | warm (on hand) |\n|---|---|---:|---:|");
rows.forEach((r, i) => console.log(`| ${i + 1} | ${r.version} | ${(r.cold / 1000).toFixed(2)} s | ${r.warm.toFixed(1)} ms |`));
