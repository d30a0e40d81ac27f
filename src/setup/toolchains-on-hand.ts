/**
 * The app's toolchains, made once per process from the operator's settings, with one log line
 * that says what is offered and what is on hand (`tollgate start`, `worker`, `run`).
 */
import path from "node:path";
import type { Logger } from "pino";
import { DEFAULT_NODE_MAJORS } from "../config/env.js";
import { NodeToolchains, npmRegistry } from "./node-toolchain.js";

export function toolchains(
  dataDir: string,
  setup: { env?: Record<string, string>; nodeMajors?: number[] | "host" } | undefined,
  log: Logger,
): NodeToolchains {
  const majors = setup?.nodeMajors ?? DEFAULT_NODE_MAJORS;
  const provided = new NodeToolchains(dataDir, { majors, registry: npmRegistry(setup?.env), log });
  void provided
    .onHand()
    .then((versions) =>
      log.info(
        { toolchains: path.join(dataDir, "toolchains"), nodeOnHand: versions },
        provided.enabled
          ? `toolchains: Node majors ${(majors as number[]).join(", ")} offered from the npm registry; on hand: ${versions.length ? versions.join(", ") : "none yet"}`
          : `toolchains: the host's Node only${majors === "host" ? " (TOLLGATE_NODE_VERSIONS=host)" : " (no Node package for this platform)"}`,
      ),
    );
  return provided;
}
