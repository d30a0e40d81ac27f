/**
 * Whether an ecosystem's package registry can be reached from this machine, asked before a
 * detected install runs: a machine that cannot reach PyPI would otherwise spend pip's retries and
 * timeouts (minutes) before failing. One TCP connection to the registry's host, with a short
 * timeout; an operator's mirror (`npm_config_registry`, `PIP_INDEX_URL`, `GOPROXY` in
 * `TOLLGATE_SETUP_ENV`) is asked instead of the public registry.
 */
import { connect } from "node:net";
import type { Ecosystem } from "./detect.js";

export interface Registry {
  name: string;
  url: string;
}

const PUBLIC: Record<Exclude<Ecosystem, "none">, Registry & { variable: string }> = {
  node: { name: "the npm registry", url: "https://registry.npmjs.org/", variable: "npm_config_registry" },
  python: { name: "PyPI", url: "https://pypi.org/simple/", variable: "PIP_INDEX_URL" },
  go: { name: "the Go module proxy", url: "https://proxy.golang.org/", variable: "GOPROXY" },
  rust: { name: "crates.io", url: "https://index.crates.io/", variable: "CARGO_REGISTRIES_CRATES_IO_INDEX" },
};

/** The registry a detected install of `ecosystem` downloads from, with the operator's mirror if set. */
export function registryOf(ecosystem: Ecosystem, env: Record<string, string>): Registry | undefined {
  if (ecosystem === "none") return undefined;
  const known = PUBLIC[ecosystem];
  const mirror = env[known.variable]
    ?.split(",")[0]
    ?.trim()
    .replace(/^sparse\+/, "");
  return mirror && /^https?:\/\//.test(mirror) ? { name: `${known.name} mirror`, url: mirror } : { name: known.name, url: known.url };
}

/** Undefined when a TCP connection to the registry's host opens within `timeoutMs`; else why not. */
export function probeRegistry(registry: Registry, timeoutMs = 5_000): Promise<string | undefined> {
  const url = new URL(registry.url);
  const port = Number(url.port) || (url.protocol === "http:" ? 80 : 443);
  return new Promise((resolve) => {
    const socket = connect({ host: url.hostname, port, timeout: timeoutMs });
    const done = (why: string | undefined) => {
      socket.destroy();
      resolve(why);
    };
    socket.once("connect", () => done(undefined));
    socket.once("timeout", () => done(`no answer from ${url.hostname} within ${Math.round(timeoutMs / 1000)} s`));
    socket.once("error", (error: NodeJS.ErrnoException) =>
      done(error.code === "ENOTFOUND" ? `${url.hostname} does not resolve here` : `${url.hostname}: ${error.code ?? error.message}`),
    );
  });
}
