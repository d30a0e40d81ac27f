/**
 * Runs once before all test files, and starts nothing: it makes the run's folder
 * (TOLLGATE_TEST_RUN_DIR), where test/helpers/db.ts keeps what it makes once per run for every
 * worker: the migrated templates, and the PostgreSQL server it starts when a test first asks for
 * one (none when TOLLGATE_TEST_DATABASE_URL names a server, as `.ci/run` does). A run of tests
 * that use no database costs no server and no template. The teardown stops the server, if one
 * was started, and removes the folder.
 *
 * Jest loads this file as CommonJS, outside the ESM module mapper, so it imports nothing of
 * Tollgate's own; test/helpers/db.ts imports the server functions from here.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";

/** A server started for this run: enough for the teardown, in another process, to stop it. */
export interface TestPostgres {
  url: string;
  /** The temporary folder holding the data folder, the socket and the log. */
  dir: string;
  data: string;
  bin: string;
  asRoot: boolean;
}

/** Where the server the tests start writes down what the teardown needs. */
export const SERVER_FILE = "postgres-server.json";

/** Debian's PostgreSQL binaries, the newest installed version; undefined when there are none. */
export function postgresBinDir(): string | undefined {
  const root = "/usr/lib/postgresql";
  const versions = existsSync(root) ? readdirSync(root).sort((a, b) => Number(b) - Number(a)) : [];
  return versions.map((v) => path.join(root, v, "bin")).find((dir) => existsSync(path.join(dir, "initdb")));
}

function pgRun(server: Pick<TestPostgres, "bin" | "asRoot">, cmd: string, args: string[]): void {
  const binary = path.join(server.bin, cmd);
  if (server.asRoot) execFileSync("runuser", ["-u", "postgres", "--", binary, ...args], { stdio: "pipe" });
  else execFileSync(binary, args, { stdio: "pipe" });
}

/** A loopback port nobody listens on right now (Probot's server takes no port 0). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
    srv.on("error", reject);
  });
}

/**
 * A throwaway server from Debian's packages, initdb'd into a temporary folder, in about 3 s.
 * Synchronous, so that a test can ask for the server's URL as a plain value. The port is the
 * kernel's choice of a free one, taken by the server a moment later.
 */
export function startTestPostgres(): TestPostgres {
  const bin = postgresBinDir();
  if (!bin) {
    throw new Error(
      "The PostgreSQL tests need a server: install Debian's (apt-get install -y --no-install-recommends postgresql) or set TOLLGATE_TEST_DATABASE_URL",
    );
  }
  const dir = mkdtempSync(path.join(tmpdir(), "tollgate-pg-"));
  const asRoot = process.getuid?.() === 0;
  if (asRoot) execFileSync("chown", ["postgres:postgres", dir]);
  const server = { dir, data: path.join(dir, "data"), bin, asRoot };
  try {
    pgRun(server, "initdb", ["-D", server.data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8"]);
    const port = Number(
      execFileSync(process.execPath, [
        "-e",
        'const s = require("net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); })',
      ]),
    );
    pgRun(server, "pg_ctl", [
      "-D",
      server.data,
      "-w",
      "-l",
      path.join(dir, "server.log"),
      "-o",
      `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200`,
      "start",
    ]);
    return { ...server, url: `postgres://postgres@127.0.0.1:${port}/postgres` };
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}

/** Stops the server the run's tests started, if they started one, and removes its folder. */
export function stopTestPostgres(runDir: string): void {
  const file = path.join(runDir, SERVER_FILE);
  if (!existsSync(file)) return;
  const server = JSON.parse(readFileSync(file, "utf8")) as TestPostgres;
  try {
    pgRun(server, "pg_ctl", ["-D", server.data, "-m", "immediate", "stop"]);
  } finally {
    rmSync(server.dir, { recursive: true, force: true });
  }
}

export default async function globalSetup(): Promise<void> {
  const runDir = mkdtempSync(path.join(tmpdir(), "tollgate-test-run-"));
  process.env.TOLLGATE_TEST_RUN_DIR = runDir; // the workers start after this: they inherit it
  (globalThis as { __tollgateTestRunEnd?: () => void }).__tollgateTestRunEnd = () => {
    try {
      stopTestPostgres(runDir);
    } finally {
      rmSync(runDir, { recursive: true, force: true });
    }
  };
}
