/**
 * `env:` in `.github/tollgate.yml`: variables the repository's setup commands and checks get (and
 * the agents' commands, which run the same programs), like `env:` in the project's own CI
 * workflow. Tollgate's own variables are not the repository's to set (they would lose to
 * Tollgate's anyway), and no value may look like a secret: whatever a command can read, its
 * output can carry to a model and to the pull request.
 */
import { z } from "zod";
import { maskSecretsCounted } from "../safety/secrets.js";

/**
 * Names Tollgate sets for setup or later commands (src/setup/environment.ts, src/sandbox/process.ts):
 * where the package managers keep their caches, the offline switches, the CA bundle, the search
 * path and the home folder. Compared without case (npm reads `NPM_CONFIG_OFFLINE` as well).
 */
const TOLLGATE_NAMES = [
  "PATH",
  "HOME",
  // caches and Corepack, in Tollgate's dependency cache
  "npm_config_cache",
  "npm_config_store_dir",
  "npm_config_package_import_method",
  "npm_config_update_notifier",
  "npm_config_fund",
  "npm_config_audit",
  "YARN_CACHE_FOLDER",
  "COREPACK_HOME",
  "COREPACK_ENABLE_DOWNLOAD_PROMPT",
  "PIP_CACHE_DIR",
  "PIP_DISABLE_PIP_VERSION_CHECK",
  "GOPATH",
  "GOMODCACHE",
  "GOCACHE",
  "CARGO_HOME",
  "BUN_INSTALL_CACHE_DIR",
  "XDG_CACHE_HOME",
  // the offline switches
  "npm_config_offline",
  "YARN_ENABLE_OFFLINE_MODE",
  "COREPACK_ENABLE_NETWORK",
  "GOPROXY",
  "GOFLAGS",
  "CARGO_NET_OFFLINE",
  "PIP_NO_INDEX",
  // the CA bundle
  "NODE_EXTRA_CA_CERTS",
  "SSL_CERT_FILE",
  "PIP_CERT",
];
const RESERVED = new Set(TOLLGATE_NAMES.map((n) => n.toLowerCase()));

/**
 * Why Tollgate keeps `name` to itself, or undefined when the repository may set it. `NODE_OPTIONS`,
 * `TERM`, `NO_COLOR`, `FORCE_COLOR`, `CI`, `TZ`, `LANG` are the repository's: they change what its
 * own programs do, inside the sandbox, and nothing of the boundary.
 */
export function reservedEnvName(name: string): string | undefined {
  if (/proxy/i.test(name)) return "the way out of the sandbox (the egress proxy during setup) is Tollgate's";
  if (/^TOLLGATE_/i.test(name)) return "names starting with TOLLGATE_ are Tollgate's own";
  // the dynamic loader's variables reach the sandbox's own programs (prlimit, which sets its limits)
  if (/^LD_/i.test(name)) return "the dynamic loader's variables would reach the sandbox's own programs";
  if (RESERVED.has(name.toLowerCase())) return "Tollgate sets it (the search path, the home folder, the caches, the offline switches)";
  return undefined;
}

/** The kinds of secret `value` looks like ("GitHub token"), or none. */
function secretKinds(value: string): string[] {
  return [...maskSecretsCounted(value).masks.keys()].map((m) => m.replace(/^\[redacted (.*?)\].*$/, "$1"));
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export const repoEnvSchema = z
  .record(
    z.string().regex(ENV_NAME, "is not a variable name (letters, digits and _, not starting with a digit)"),
    z
      .union([z.string(), z.number(), z.boolean()], "a value is a string, a number or true/false")
      .transform(String)
      .pipe(
        z
          .string()
          .max(4_096, "a value is at most 4,096 characters")
          .refine((v) => !v.includes("\0"), "a value cannot hold a NUL character"),
      ),
  )
  .superRefine((env, ctx) => {
    const names = Object.keys(env);
    if (names.length > 100) ctx.addIssue({ code: "custom", message: `at most 100 variables (got ${names.length})` });
    for (const name of names) {
      const reserved = reservedEnvName(name);
      const kinds = secretKinds(env[name]!);
      const message = reserved
        ? `cannot be set here: ${reserved}`
        : kinds.length
          ? `looks like a secret (${kinds.join(", ")}): \`env\` holds no secrets, since a command's output can reach a model and the pull request`
          : undefined;
      if (message) ctx.addIssue({ code: "custom", message, path: [name] });
    }
  })
  .default({})
  .describe(
    "Variables for the setup commands, the checks and the agents' commands, as in the `env:` of a CI workflow (e.g. `NO_COLOR: 1`, `TZ: Europe/Berlin`, `NODE_OPTIONS: --max-old-space-size=4096`). Commands otherwise get what a GitHub-hosted runner gives (CI=true, HOME, PATH, LANG=C.UTF-8, in UTC) and no colour switch. No secrets: a value that looks like a token or key is refused. Tollgate's own names (PATH, HOME, proxies, package managers' caches and offline switches, LD_*, TOLLGATE_*) are refused.",
  );
