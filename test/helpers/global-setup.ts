/**
 * Runs once before all test files. Makes sure a PostgreSQL server is there: the one named by
 * TOLLGATE_TEST_DATABASE_URL (`.ci/run` starts one), or else a throwaway server from Debian's
 * packages, initdb'd into a temporary folder on a free loopback port and stopped at the end.
 *
 * Jest loads this file as CommonJS, outside the ESM module mapper, so it imports nothing of
 * Tollgate's own: migrated templates are made lazily by test/helpers/db.ts.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";

interface TestPostgres {
  url: string;
  stop(): void;
}

function binDir(): string {
  const root = "/usr/lib/postgresql";
  const versions = existsSync(root) ? readdirSync(root).sort((a, b) => Number(b) - Number(a)) : [];
  for (const v of versions) {
    const dir = path.join(root, v, "bin");
    if (existsSync(path.join(dir, "initdb"))) return dir;
  }
  throw new Error(
    "The tests need PostgreSQL: install Debian's server (apt-get install -y --no-install-recommends postgresql) or set TOLLGATE_TEST_DATABASE_URL",
  );
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

async function startTestPostgres(): Promise<TestPostgres> {
  const bin = binDir();
  const dir = mkdtempSync(path.join(tmpdir(), "tollgate-pg-"));
  const asRoot = process.getuid?.() === 0;
  const run = (cmd: string, args: string[]) => {
    const [file, argv] = asRoot ? ["runuser", ["-u", "postgres", "--", path.join(bin, cmd), ...args]] : [path.join(bin, cmd), args];
    execFileSync(file as string, argv as string[], { stdio: "pipe" });
  };
  if (asRoot) execFileSync("chown", ["postgres:postgres", dir]);
  const data = path.join(dir, "data");
  run("initdb", ["-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8"]);
  const port = await freePort();
  run("pg_ctl", [
    "-D",
    data,
    "-w",
    "-l",
    path.join(dir, "server.log"),
    "-o",
    `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200`,
    "start",
  ]);
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    stop() {
      try {
        run("pg_ctl", ["-D", data, "-m", "immediate", "stop"]);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

export default async function globalSetup(): Promise<void> {
  if (process.env.TOLLGATE_TEST_DATABASE_URL) return;
  const server = await startTestPostgres();
  (globalThis as { __tollgatePg?: TestPostgres }).__tollgatePg = server;
  process.env.TOLLGATE_TEST_DATABASE_URL = server.url;
}
