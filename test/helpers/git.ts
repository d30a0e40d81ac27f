/** Real git for tests: bare repositories on disk, and a `git http-backend` that demands a token. */
import { execFileSync, spawn } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";

export function git(cwd: string, ...args: string[]): string {
  return execFileSync("git", args, {
    cwd,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
    env: { PATH: process.env.PATH, HOME: cwd, GIT_CONFIG_NOSYSTEM: "1" },
  });
}

/** A bare repository with one commit on `main` (README.md and src/index.ts). Returns its path. */
export function bareRepo(): string {
  const base = mkdtempSync(path.join(tmpdir(), "tollgate-git-"));
  const bare = path.join(base, "origin.git");
  const seed = path.join(base, "seed");
  execFileSync("git", ["init", "--bare", "-b", "main", bare]);
  git(bare, "config", "uploadpack.allowFilter", "true");
  git(bare, "config", "uploadpack.allowAnySHA1InWant", "true"); // as GitHub serves partial clones
  git(bare, "config", "http.receivepack", "true");
  execFileSync("git", ["init", "-b", "main", seed]);
  writeFileSync(path.join(seed, "README.md"), "# demo\n");
  execFileSync("mkdir", ["-p", path.join(seed, "src")]);
  writeFileSync(path.join(seed, "src/index.ts"), "export const x = 1;\n");
  git(seed, "add", "-A");
  git(seed, "-c", "user.name=Human", "-c", "user.email=human@example.com", "commit", "-m", "initial");
  git(seed, "push", bare, "main");
  return bare;
}

/**
 * A bare repository with one commit on `main` holding `files` (path → content) and, when given,
 * every file of the folder `from` (a project fixture under test/fixtures/projects). Returns its path.
 */
export function bareRepoWith(files: Record<string, string>, from?: string): string {
  const base = mkdtempSync(path.join(tmpdir(), "tollgate-git-"));
  const bare = path.join(base, "origin.git");
  const seed = path.join(base, "seed");
  execFileSync("git", ["init", "--bare", "-b", "main", bare]);
  git(bare, "config", "uploadpack.allowFilter", "true");
  git(bare, "config", "uploadpack.allowAnySHA1InWant", "true");
  execFileSync("git", ["init", "-b", "main", seed]);
  if (from) cpSync(from, seed, { recursive: true });
  for (const [file, content] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(seed, file)), { recursive: true });
    writeFileSync(path.join(seed, file), content);
  }
  git(seed, "add", "-A");
  git(seed, "-c", "user.name=Human", "-c", "user.email=human@example.com", "commit", "--allow-empty", "-m", "initial");
  git(seed, "push", bare, "main");
  return bare;
}

/** Pushes a commit by a human to `branch` of the bare repo. */
export function humanCommit(bare: string, branch: string): void {
  const dir = mkdtempSync(path.join(tmpdir(), "tollgate-human-"));
  execFileSync("git", ["clone", "-q", "-b", branch, bare, dir]);
  writeFileSync(path.join(dir, "human.txt"), "mine\n");
  git(dir, "add", "-A");
  git(dir, "-c", "user.name=Human", "-c", "user.email=human@example.com", "commit", "-m", "a human fix");
  git(dir, "push", "-q", "origin", branch);
}

export interface GitHttpServer {
  url: string;
  /** Every Authorization header received (as sent). */
  authorizations: string[];
  /** Every request URL (to check that no token travels in one). */
  urls: string[];
  close(): Promise<void>;
}

/**
 * Serves the folder of `bare` over smart HTTP, answering 401 unless the token's header comes.
 * `token` may be a function, to play a token that expires and is replaced.
 */
export async function gitHttpServer(bare: string, token: string | (() => string)): Promise<GitHttpServer> {
  const current = typeof token === "string" ? () => token : token;
  const authorizations: string[] = [];
  const urls: string[] = [];
  const server: Server = createServer((req, res) => {
    urls.push(req.url ?? "");
    authorizations.push(String(req.headers.authorization ?? ""));
    const expected = `basic ${Buffer.from(`x-access-token:${current()}`).toString("base64")}`;
    if (String(req.headers.authorization ?? "").toLowerCase() !== expected.toLowerCase()) {
      res.writeHead(401, { "WWW-Authenticate": 'Basic realm="git"' }).end();
      return;
    }
    const url = new URL(req.url ?? "/", "http://localhost");
    const cgi = spawn("git", ["http-backend"], {
      env: {
        PATH: process.env.PATH,
        GIT_PROJECT_ROOT: path.dirname(bare),
        GIT_HTTP_EXPORT_ALL: "1",
        PATH_INFO: url.pathname,
        QUERY_STRING: url.search.slice(1),
        REQUEST_METHOD: req.method ?? "GET",
        CONTENT_TYPE: String(req.headers["content-type"] ?? ""),
        HTTP_CONTENT_ENCODING: String(req.headers["content-encoding"] ?? ""),
        REMOTE_USER: "tollgate",
        REMOTE_ADDR: "127.0.0.1",
      },
    });
    req.pipe(cgi.stdin);
    let buffer = Buffer.alloc(0);
    let headersDone = false;
    cgi.stdout.on("data", (chunk: Buffer) => {
      if (headersDone) return void res.write(chunk);
      buffer = Buffer.concat([buffer, chunk]);
      const end = buffer.indexOf("\r\n\r\n");
      if (end === -1) return;
      headersDone = true;
      let status = 200;
      for (const line of buffer.subarray(0, end).toString().split("\r\n")) {
        const [name, ...rest] = line.split(":");
        const value = rest.join(":").trim();
        if (name!.toLowerCase() === "status") status = Number(value.split(" ")[0]);
        else res.setHeader(name!, value);
      }
      res.writeHead(status);
      res.write(buffer.subarray(end + 4));
    });
    cgi.stdout.on("end", () => res.end());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}/${path.basename(bare)}`,
    authorizations,
    urls,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
