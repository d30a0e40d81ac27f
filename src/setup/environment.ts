/**
 * What the commands of a set-up checkout are given: the setup commands themselves (network on,
 * the caches writable) and every later command (agents' commands and verify: network off, the
 * caches read-only, what setup installed in the checkout visible in an agent's worktree too).
 *
 * Every value here is Tollgate's own, the operator's (`TOLLGATE_SETUP_ENV`) or the repository's
 * (`env:` in .github/tollgate.yml, which refuses secret-looking values and Tollgate's own names):
 * nothing of the app's environment, and no secret, reaches a command.
 */
import { existsSync, lstatSync, realpathSync } from "node:fs";
import path from "node:path";
import { BASE_ENV } from "../sandbox/process.js";

/**
 * Where a run's setup keeps its caches and shims: folders of the run's own (a cache hit is copied
 * in), thrown away with the run. Only `home` is ever writable by a repository's command.
 */
export interface SetupHome {
  /** Package managers' caches (npm, pnpm's store, pip, Go, Cargo, Yarn, Bun). */
  home: string;
  /** Shims of the package manager (Corepack's `pnpm`, `yarn`), first on every command's PATH: written by Tollgate's own step alone. */
  bin: string;
  /** The package managers Corepack downloaded: written by Tollgate's own step alone, read-only to every repository command. */
  corepack: string;
}

/** What setup left for later commands: where its caches are, and what it installed in the checkout. */
export interface Installed extends SetupHome {
  /** Paths relative to the checkout that setup created (node_modules, .venv, …): never committed, kept between rounds. */
  paths: string[];
  /** Tollgate's toolchain folders the commands use (src/setup/node-toolchain.ts), read-only. */
  tools?: Toolchain;
}

/** Tollgate's toolchains for a tree: folders first on PATH (a Node's bin), and every folder they need, read-only. */
export interface Toolchain {
  path: string[];
  dirs: string[];
}

/** What a command in a tree gets from setup: variables, and folders it may only read. */
export interface CommandSetting {
  env: Record<string, string>;
  readOnly: string[];
  /** Setup's installed paths of the main checkout, seen read-only at the same place in a worktree. */
  binds: Array<{ from: string; to: string }>;
}

/** The system's CA bundle, for registries behind a TLS-inspecting proxy (Node reads only its own store otherwise). */
const CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt";

function caches(setupHome: SetupHome): Record<string, string> {
  const home = setupHome.home;
  return {
    npm_config_cache: path.join(home, "npm"),
    npm_config_store_dir: path.join(home, "pnpm-store"),
    // pnpm hard-links files from its store by default: a command changing node_modules would change the cache
    npm_config_package_import_method: "copy",
    npm_config_update_notifier: "false",
    npm_config_fund: "false",
    npm_config_audit: "false",
    YARN_CACHE_FOLDER: path.join(home, "yarn"),
    COREPACK_HOME: setupHome.corepack,
    COREPACK_ENABLE_DOWNLOAD_PROMPT: "0",
    PIP_CACHE_DIR: path.join(home, "pip"),
    PIP_DISABLE_PIP_VERSION_CHECK: "1",
    GOPATH: path.join(home, "go"),
    GOMODCACHE: path.join(home, "go", "pkg", "mod"),
    CARGO_HOME: path.join(home, "cargo"),
    BUN_INSTALL_CACHE_DIR: path.join(home, "bun"),
  };
}

/** Variables that keep package managers off the network (a cache hit's install, and every later command). */
const OFFLINE = {
  npm_config_offline: "true",
  YARN_ENABLE_OFFLINE_MODE: "1",
  COREPACK_ENABLE_NETWORK: "0",
  GOPROXY: "off",
  GOFLAGS: "-mod=mod",
  CARGO_NET_OFFLINE: "true",
  PIP_NO_INDEX: "1",
};

/** The shims, then a Python virtualenv the checkout has (setup makes one for a Python project), then the system's. */
function searchPath(bin: string, tree: string, venv: boolean, tools: string[] = []): string {
  return [bin, ...tools, ...(venv ? [path.join(tree, ".venv", "bin")] : []), BASE_ENV.PATH].join(":");
}

/** The PATH of a tree's toolchain alone (for the version checks, before setup's folders exist). */
export function toolchainPath(tools: Toolchain | undefined): string {
  return [...(tools?.path ?? []), BASE_ENV.PATH].join(":");
}

/**
 * The environment of a setup command in `tree`: the caches writable, the CA bundle, the
 * operator's extra variables, and, for an install from a complete cache, the offline switches.
 */
export function setupEnv(
  home: SetupHome,
  tree: string,
  options: { offline: boolean; extra?: Record<string, string>; repo?: Record<string, string>; tools?: Toolchain },
): Record<string, string> {
  return {
    ...options.repo, // the repository's `env:` first: every variable of Tollgate's (and the operator's) wins
    ...caches(home),
    XDG_CACHE_HOME: path.join(home.home, "xdg"),
    GOCACHE: path.join(home.home, "go-build"),
    ...(existsSync(CA_BUNDLE) ? { NODE_EXTRA_CA_CERTS: CA_BUNDLE, SSL_CERT_FILE: CA_BUNDLE, PIP_CERT: CA_BUNDLE } : {}),
    ...options.extra,
    ...(options.offline ? OFFLINE : {}),
    PATH: searchPath(home.bin, tree, true, options.tools?.path),
  };
}

/**
 * A later command in `tree` (the main checkout `main`, or an agent's worktree): offline, the
 * caches read-only (their writes go to the command's private /tmp), and setup's installed paths
 * of the main checkout at the same place in a worktree.
 */
export function laterCommand(
  installed: Installed | undefined,
  main: string,
  tree: string,
  repo: Record<string, string> = {},
): CommandSetting {
  if (!installed) return { env: { ...repo }, readOnly: [], binds: [] };
  const binds =
    tree === main
      ? []
      : installed.paths.filter((p) => insideCheckout(main, p)).map((p) => ({ from: path.join(main, p), to: path.join(tree, p) }));
  return {
    env: {
      ...repo, // the repository's `env:` first: Tollgate's variables win
      ...caches(installed),
      ...OFFLINE,
      npm_config_cache: "/tmp/.npm",
      XDG_CACHE_HOME: "/tmp/.cache",
      GOCACHE: "/tmp/.cache/go-build",
      PATH: searchPath(installed.bin, tree, installed.paths.includes(".venv"), installed.tools?.path),
    },
    readOnly: [installed.home, installed.bin, installed.corepack, ...(installed.tools?.dirs ?? [])],
    binds,
  };
}

/**
 * Whether `main/p` is still a plain file or folder of the checkout: a command in the checkout
 * (verify) may have replaced it with a symlink since setup (node_modules -> /), and binding that
 * would show its target to an agent's commands.
 */
function insideCheckout(main: string, p: string): boolean {
  try {
    const info = lstatSync(path.join(main, p));
    if (!info.isDirectory() && !info.isFile()) return false;
    return realpathSync(path.join(main, p)).startsWith(realpathSync(main) + path.sep);
  } catch {
    return false;
  }
}
