/**
 * How a checked-out repository installs its dependencies and tests itself, for repositories whose
 * `.github/tollgate.yml` gives no `setup.commands` / `verify.commands`. Pure detection: it reads a
 * few files at the top of the checkout and runs nothing. The checkout is untrusted, so no symlink is
 * followed (a link to `/dev/zero` or to a host file reads as absent) and no file is read past 1 MiB;
 * values quoted from the repository into `notes` are cut to one short line.
 *
 * Rules, in the order they apply:
 * - Node (`package.json`) wins over the others, then Python, Go, Rust; what else was seen is noted.
 * - Node's package manager: `packageManager` (`name@version`, a `+hash` left off), else the lockfile
 *   (pnpm-lock.yaml, yarn.lock, bun.lock / bun.lockb, npm-shrinkwrap.json / package-lock.json, in
 *   that order when several are there), else npm. Corepack provides pnpm and yarn (the pinned
 *   version, or its own default): the setup step puts its shims on the PATH (`Detected.packageManager`
 *   says which); it does not shim npm by default and does not know bun.
 * - Python is installed in a virtualenv in the checkout (`.venv`, whose `bin` later commands have
 *   on their PATH): the system's site-packages are read-only in the sandbox.
 * - A frozen install (`npm ci`, `--frozen-lockfile`, Berry's `--immutable`) needs that manager's own
 *   lockfile; without one the install is plain, not reproducible, and there is no cache key.
 * - Verify is the `test` script run by the manager (`bun run test`: `bun test` is Bun's own runner),
 *   unless it is missing or npm's placeholder.
 */
import { constants } from "node:fs";
import { open, readdir } from "node:fs/promises";
import path from "node:path";

export type Ecosystem = "node" | "python" | "go" | "rust" | "none";
export type PackageManagerName = "npm" | "pnpm" | "yarn" | "bun";

export interface DetectedPackageManager {
  name: PackageManagerName;
  /** The exact version `packageManager` pins; absent when a lockfile alone decided. */
  version?: string;
  /** What decided: "packageManager: pnpm@9.12.0", "pnpm-lock.yaml", or "no lockfile". */
  via: string;
  /** Yarn 2+ (Berry), whose frozen install is `--immutable`. Set for yarn only. */
  yarnBerry?: boolean;
}

export interface Detected {
  ecosystem: Ecosystem;
  packageManager?: DetectedPackageManager;
  /** Argv lists run in order, no shell. */
  setup: string[][];
  /** Argv lists that must all pass. */
  verify: string[][];
  /** The file whose hash keys a dependency cache. */
  lockfile?: string;
  /** The Node version the project asks for, and where it said so. */
  node?: { wanted: string; from: string };
  /** What was detected, in plain sentences (for the sticky comment). */
  notes: string[];
}

type Found = Omit<Detected, "ecosystem">;
type Json = Record<string, unknown>;

interface Listing {
  /** Regular files at the top of the checkout (symlinks are neither files nor folders here). */
  files: Set<string>;
  dirs: Set<string>;
}

const MAX_BYTES = 1024 * 1024;
const MANAGERS: readonly PackageManagerName[] = ["npm", "pnpm", "yarn", "bun"];
const LOCKFILES: ReadonlyArray<readonly [string, PackageManagerName]> = [
  ["pnpm-lock.yaml", "pnpm"],
  ["yarn.lock", "yarn"],
  ["bun.lock", "bun"],
  ["bun.lockb", "bun"],
  ["npm-shrinkwrap.json", "npm"],
  ["package-lock.json", "npm"],
];
const DEPENDENCY_FIELDS = ["dependencies", "devDependencies", "optionalDependencies", "peerDependencies"] as const;
const NOTHING = "Nothing to detect: add setup.commands and verify.commands to .github/tollgate.yml.";

/** The first `limit` bytes of a regular file (never through a symlink, never a FIFO), or undefined. */
export async function readBytes(dir: string, name: string, limit = MAX_BYTES): Promise<Buffer | undefined> {
  const flags = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;
  const handle = await open(path.join(dir, name), flags).catch(() => undefined);
  if (!handle) return undefined;
  try {
    const info = await handle.stat();
    if (!info.isFile()) return undefined;
    const buffer = Buffer.alloc(Math.min(limit, info.size));
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    return buffer.subarray(0, bytesRead);
  } catch {
    return undefined;
  } finally {
    await handle.close();
  }
}

async function list(dir: string): Promise<Listing> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  return {
    files: new Set(entries.filter((e) => e.isFile()).map((e) => e.name)),
    dirs: new Set(entries.filter((e) => e.isDirectory()).map((e) => e.name)),
  };
}

/** A value from the repository, fit to quote in a comment: one line, no code marks, at most 80 characters. */
function quote(value: string): string {
  const clean = value.replace(/[\s`]+/g, " ").trim();
  return `"${clean.length > 80 ? `${clean.slice(0, 79)}…` : clean}"`;
}

async function readText(dir: string, name: string, limit = MAX_BYTES): Promise<string | undefined> {
  return (await readBytes(dir, name, limit))?.toString("utf8");
}

function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function text(value: unknown): string | undefined {
  return typeof value === "string" && value.trim() !== "" ? value.replace(/\s+/g, " ").trim().slice(0, 200) : undefined;
}

// ---------------------------------------------------------------------------------------- Node

/** package.json as an object, or undefined (with a note) when it is not one. */
async function readPackageJson(dir: string, notes: string[]): Promise<Json | undefined> {
  try {
    const value: unknown = JSON.parse((await readText(dir, "package.json")) ?? "");
    if (isObject(value)) return value;
    notes.push("package.json is not a JSON object: the package manager is guessed from the lockfiles.");
  } catch {
    notes.push("package.json is not valid JSON: the package manager is guessed from the lockfiles.");
  }
  return undefined;
}

function parsePin(value: unknown, notes: string[]): { name: PackageManagerName; version: string } | undefined {
  if (value === undefined) return undefined;
  const match = typeof value === "string" ? /^([\w.-]+)@([^+\s]+)(\+\S*)?$/.exec(value.trim()) : null;
  if (!match) {
    notes.push(`packageManager ${quote(JSON.stringify(value) ?? "")} is not name@version: ignored.`);
    return undefined;
  }
  const name = MANAGERS.find((m) => m === match[1]);
  if (!name) {
    notes.push(`packageManager names ${quote(match[1] ?? "")}, which is not npm, pnpm, yarn or bun: ignored.`);
    return undefined;
  }
  return { name, version: match[2] ?? "" };
}

async function isBerry(dir: string, root: Listing, version: string | undefined, lockfile: string | undefined): Promise<boolean> {
  const major = /^(\d+)\./.exec(version ?? "")?.[1];
  if (major !== undefined) return Number(major) >= 2;
  if (root.files.has(".yarnrc.yml")) return true;
  // Berry's lockfile is YAML with a __metadata block; Yarn 1's starts "# yarn lockfile v1".
  return lockfile === "yarn.lock" && /^__metadata:/m.test((await readText(dir, lockfile, 4096)) ?? "");
}

function installCommand(name: PackageManagerName, lockfile: string | undefined, berry: boolean): string[] {
  if (!lockfile) return [name, "install"];
  if (name === "npm") return ["npm", "ci"];
  if (name === "yarn") return ["yarn", "install", berry ? "--immutable" : "--frozen-lockfile"];
  return [name, "install", "--frozen-lockfile"];
}

function managerNote(pm: DetectedPackageManager, lockfile: string | undefined): string {
  const label = pm.name === "yarn" ? (pm.yarnBerry ? "Yarn Berry" : "Yarn classic") : pm.name;
  const from = [pm.version === undefined ? undefined : "packageManager", lockfile].filter(Boolean).join(" and ");
  if (pm.version !== undefined) {
    const how = {
      pnpm: "Corepack provides it",
      yarn: "Corepack provides it",
      npm: "the npm that ships with Node runs it (Corepack does not stand in for npm by default)",
      bun: "bun must already be installed (Corepack does not provide bun)",
    }[pm.name];
    return `${label} ${pm.version} from ${from}; ${how}.`;
  }
  if (!lockfile) return "npm, as no lockfile or packageManager field names another package manager.";
  if (pm.name === "npm") return `npm from ${lockfile}.`;
  if (pm.name === "bun") return `bun from ${lockfile}; bun must already be installed (Corepack does not provide bun).`;
  return `${label} from ${lockfile}; no packageManager field pins a version, so Corepack provides its default ${pm.name}.`;
}

function testCommand(pkg: Json | undefined, name: PackageManagerName, notes: string[]): string[][] {
  if (!pkg) {
    notes.push("Tests unknown (package.json could not be read): add verify.commands.");
    return [];
  }
  const test = isObject(pkg.scripts) ? text(pkg.scripts.test) : undefined;
  if (!test) {
    notes.push("No test script in package.json: nothing to verify with; add verify.commands.");
    return [];
  }
  if (/Error: no test specified/i.test(test)) {
    notes.push("The test script is npm's placeholder (it only fails): nothing to verify with; add verify.commands.");
    return [];
  }
  const argv = name === "bun" ? ["bun", "run", "test"] : [name, "test"];
  notes.push(`Tests: ${argv.join(" ")} (the test script: ${quote(test)}).`);
  return [argv];
}

/**
 * The Node version the project asks for, in the order version managers and CI's setup-node read
 * them: `.nvmrc`, `.node-version`, `.tool-versions` (asdf, mise), `volta.node`,
 * `devEngines.runtime`, then the `engines.node` range. The first that says wins.
 */
async function nodeVersion(dir: string, pkg: Json | undefined): Promise<{ wanted: string; from: string } | undefined> {
  const firstLine = async (file: string) =>
    ((await readText(dir, file, 4096)) ?? "")
      .split(/\r?\n/)
      .map((line) => line.replace(/#.*/, "").trim())
      .filter((line) => line !== "");
  for (const file of [".nvmrc", ".node-version"]) {
    const wanted = text((await firstLine(file))[0]);
    if (wanted) return { wanted, from: file };
  }
  const asdf = (await firstLine(".tool-versions")).map((line) => /^(?:nodejs|node)\s+(\S+)/.exec(line)?.[1]).find(Boolean);
  if (text(asdf)) return { wanted: text(asdf)!, from: ".tool-versions" };
  const volta = isObject(pkg?.volta) ? text(pkg.volta.node) : undefined;
  if (volta) return { wanted: volta, from: "volta.node" };
  const devEngines = isObject(pkg?.devEngines) ? pkg.devEngines.runtime : undefined;
  const runtime = (Array.isArray(devEngines) ? devEngines : [devEngines]).find((r) => isObject(r) && r.name === "node");
  const dev = isObject(runtime) ? text(runtime.version) : undefined;
  if (dev) return { wanted: dev, from: "devEngines.runtime" };
  const engines = isObject(pkg?.engines) ? text(pkg.engines.node) : undefined;
  return engines ? { wanted: engines, from: "engines.node" } : undefined;
}

async function detectNode(dir: string, root: Listing): Promise<Found> {
  const notes: string[] = [];
  const pkg = await readPackageJson(dir, notes);
  const pin = parsePin(pkg?.packageManager, notes);
  const present = LOCKFILES.filter(([file]) => root.files.has(file));
  const name = pin?.name ?? present[0]?.[1] ?? "npm";
  const lockfile = present.find(([, manager]) => manager === name)?.[0];
  const via = pin ? `packageManager: ${pin.name}@${pin.version}` : (lockfile ?? "no lockfile");
  const pm: DetectedPackageManager = { name, via, ...(pin && { version: pin.version }) };
  if (name === "yarn") pm.yarnBerry = await isBerry(dir, root, pin?.version, lockfile);
  // a package.json that declares no dependency, with no lockfile, has nothing to install
  const bare = !lockfile && pkg !== undefined && !DEPENDENCY_FIELDS.some((f) => isObject(pkg[f]) && Object.keys(pkg[f]).length > 0);
  const setup = bare ? [] : [installCommand(name, lockfile, pm.yarnBerry === true)];
  if (bare) notes.push("package.json declares no dependencies: nothing to install.");
  notes.push(managerNote(pm, lockfile));
  if (!lockfile && !bare) notes.push(`No ${name} lockfile: the install is not reproducible and nothing keys a dependency cache.`);
  const ignored = present.map(([file]) => file).filter((file) => file !== lockfile);
  if (ignored.length) notes.push(`Also found ${ignored.join(", ")}: ignored, as ${name} installs.`);
  const verify = testCommand(pkg, name, notes);
  const node = await nodeVersion(dir, pkg);
  if (node) notes.push(`Node ${quote(node.wanted)} wanted (${node.from}).`);
  return { packageManager: pm, setup, verify, notes, ...(lockfile && { lockfile }), ...(node && { node }) };
}

// -------------------------------------------------------------------------------------- Python

const PYTHON_LOCKS = ["poetry.lock", "uv.lock", "pdm.lock", "Pipfile.lock"];
const TEST_EXTRAS = ["test", "tests", "testing", "dev"];

function requirementFiles(root: Listing): string[] {
  const files = [...root.files].filter((file) => /^requirements.*\.txt$/.test(file));
  return files.sort((a, b) => Number(b === "requirements.txt") - Number(a === "requirements.txt") || a.localeCompare(b));
}

/** The keys of pyproject's [project.optional-dependencies] that a test run wants. */
function testExtras(pyproject: string): string[] {
  const section = /^\s*\[project\.optional-dependencies\]\s*$([\s\S]*?)(?=^\s*\[|(?![\s\S]))/m.exec(pyproject)?.[1] ?? "";
  const keys = [...section.matchAll(/^\s*["']?([A-Za-z0-9][\w.-]*)["']?\s*=/gm)].map((m) => m[1]);
  return TEST_EXTRAS.filter((extra) => keys.includes(extra));
}

async function pytestReasons(dir: string, root: Listing, pyproject: string, requirements: string): Promise<string[]> {
  const reasons: string[] = [];
  if (/^\s*\[tool\.pytest(\.ini_options)?\]/m.test(pyproject)) reasons.push("[tool.pytest.ini_options] in pyproject.toml");
  if (root.files.has("pytest.ini")) reasons.push("pytest.ini");
  if (/^\s*\[tool:pytest\]/m.test((await readText(dir, "setup.cfg")) ?? "")) reasons.push("[tool:pytest] in setup.cfg");
  if (/^\s*\[pytest\]/m.test((await readText(dir, "tox.ini")) ?? "")) reasons.push("[pytest] in tox.ini");
  if (root.files.has("conftest.py")) reasons.push("conftest.py");
  for (const folder of ["tests", "test"].filter((name) => root.dirs.has(name))) {
    const inside = await list(path.join(dir, folder));
    if ([...inside.files].some((file) => /^(test_.*|.*_test)\.py$|^conftest\.py$/.test(file))) reasons.push(`tests in ${folder}/`);
  }
  if (/^\s*pytest\b/im.test(requirements)) reasons.push("pytest in the requirements");
  if (/["']pytest\b|^\s*pytest\s*=/m.test(pyproject)) reasons.push("pytest in pyproject.toml");
  return reasons;
}

/** pip's installs go into a virtualenv the setup makes first (the system's site-packages are read-only). */
function inVenv(installs: string[][]): string[][] {
  return installs.length ? [["python3", "-m", "venv", ".venv"], ...installs] : [];
}

async function detectPython(dir: string, root: Listing): Promise<Found> {
  const notes: string[] = [];
  const requirements = requirementFiles(root);
  const pyproject = (await readText(dir, "pyproject.toml")) ?? "";
  const installable = root.files.has("setup.py") || /^\s*\[(project|build-system|tool\.poetry)\]/m.test(pyproject);
  const extras = installable ? testExtras(pyproject) : [];
  const pip = ["python", "-m", "pip", "install"];
  const setup: string[][] = [];
  if (requirements.length) setup.push([...pip, ...requirements.flatMap((file) => ["-r", file])]);
  if (installable) setup.push([...pip, "-e", extras.length ? `.[${extras.join(",")}]` : "."]);
  const installs = [...requirements, ...(installable ? [`the project itself${extras.length ? ` with [${extras.join(",")}]` : ""}`] : [])];
  notes.push(
    installs.length
      ? `Python: pip installs ${installs.map((i) => (i.startsWith("the project") ? i : quote(i))).join(", ")} in a virtualenv (.venv).`
      : "Python, but nothing for pip to install.",
  );
  if (!installable && root.files.has("pyproject.toml"))
    notes.push("pyproject.toml has no [project] or [build-system] table: not installed.");
  for (const lock of PYTHON_LOCKS.filter((file) => root.files.has(file))) notes.push(`${lock} is there, but pip does not read it.`);
  const requirementsText = (await Promise.all(requirements.map((file) => readText(dir, file)))).join("\n");
  const reasons = await pytestReasons(dir, root, pyproject, requirementsText);
  if (!reasons.length) {
    notes.push("No pytest configuration or tests found: nothing to verify with; add verify.commands.");
    return { setup: inVenv(setup), verify: [], notes, ...(requirements[0] && { lockfile: requirements[0] }) };
  }
  const declared = /^\s*pytest\b/im.test(requirementsText) || (installable && /["']pytest\b/.test(pyproject));
  if (!declared) {
    setup.push([...pip, "pytest"]);
    notes.push("pytest is not among the dependencies pip installs: setup installs it.");
  }
  notes.push(`Tests: python -m pytest (${reasons.join(", ")}).`);
  return { setup: inVenv(setup), verify: [["python", "-m", "pytest"]], notes, ...(requirements[0] && { lockfile: requirements[0] }) };
}

// ------------------------------------------------------------------------------- Go and Rust

async function detectGo(dir: string, root: Listing): Promise<Found> {
  const version = /^go\s+(\d[\w.]*)\s*$/m.exec((await readText(dir, "go.mod")) ?? "")?.[1];
  const notes = [`Go module (go.mod${version ? `, go ${version}` : ""}); tests: go test ./...`];
  if (!root.files.has("go.sum")) notes.push("No go.sum: nothing keys a dependency cache.");
  return {
    setup: [["go", "mod", "download"]],
    verify: [["go", "test", "./..."]],
    notes,
    ...(root.files.has("go.sum") && { lockfile: "go.sum" }),
  };
}

async function detectRust(_dir: string, root: Listing): Promise<Found> {
  const notes = ["Rust crate (Cargo.toml); tests: cargo test."];
  const locked = root.files.has("Cargo.lock");
  if (!locked) notes.push("No Cargo.lock: the build is not reproducible and nothing keys a dependency cache.");
  return { setup: [["cargo", "fetch"]], verify: [["cargo", "test"]], notes, ...(locked && { lockfile: "Cargo.lock" }) };
}

// ----------------------------------------------------------------------------------------- All

interface Kind {
  ecosystem: Exclude<Ecosystem, "none">;
  title: string;
  /** The files that show it, at the top of the checkout. */
  signals(root: Listing): string[];
  detect(dir: string, root: Listing): Promise<Found>;
}

const has =
  (...names: string[]) =>
  (root: Listing) =>
    names.filter((name) => root.files.has(name));

/** In order of precedence: the first one present is set up. */
const KINDS: Kind[] = [
  { ecosystem: "node", title: "Node", signals: has("package.json"), detect: detectNode },
  {
    ecosystem: "python",
    title: "Python",
    signals: (root) => [...has("pyproject.toml", "setup.py", "setup.cfg")(root), ...requirementFiles(root)],
    detect: detectPython,
  },
  { ecosystem: "go", title: "Go", signals: has("go.mod"), detect: detectGo },
  { ecosystem: "rust", title: "Rust", signals: has("Cargo.toml"), detect: detectRust },
];

/** How the repository checked out at `dir` installs and tests itself. Never throws on what it reads. */
export async function detectProject(dir: string): Promise<Detected> {
  const root = await list(dir);
  const present = KINDS.map((kind) => ({ kind, signals: kind.signals(root) })).filter((k) => k.signals.length > 0);
  const [first, ...rest] = present;
  if (!first) return { ecosystem: "none", setup: [], verify: [], notes: [NOTHING] };
  const found = await first.kind.detect(dir, root);
  if (rest.length) {
    const others = rest.map(({ kind, signals }) => `${kind.title} (${signals.join(", ")})`).join(", ");
    found.notes.push(`Also seen: ${others}; only the ${first.kind.title} project is set up (setup.commands can do the rest).`);
  }
  return { ecosystem: first.kind.ecosystem, ...found };
}
