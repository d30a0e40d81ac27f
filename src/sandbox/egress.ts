/**
 * The network a setup command gets: not the host's, but a proxy. The command's sandbox has a
 * network namespace of its own with nothing in it but loopback; a small forwarder started inside
 * (Tollgate's code, FORWARDER below) listens on 127.0.0.1:3128 there and passes each connection to
 * a Unix socket bound in from the host, where `EgressProxy` answers HTTP CONNECT. The proxy
 * resolves the name itself and refuses every address the host can reach but the internet cannot
 * see: loopback (the app's database and server), private networks, link-local (cloud metadata at
 * 169.254.169.254), carrier-grade NAT, unique-local IPv6, and ports other than 443 and 80.
 * It connects to the address it checked (no second lookup for DNS rebinding to race).
 * Package managers (npm, pnpm, Yarn, Corepack, pip, Go, Cargo, Bun) take the proxy from
 * `HTTPS_PROXY` and its relatives, which the sandbox sets.
 */
import { createServer, type IncomingMessage, type Server } from "node:http";
import { lookup } from "node:dns/promises";
import { mkdtemp, rm } from "node:fs/promises";
import { connect, isIP, type Socket } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import ipaddr from "ipaddr.js";
import type { Logger } from "pino";

/** Where the forwarder listens inside the sandbox. */
export const EGRESS_PORT = 3128;
/** Where the proxy's socket is seen inside the sandbox. */
export const EGRESS_SOCKET_IN_SANDBOX = "/tmp/.tollgate-egress.sock";

const ALLOWED_PORTS = new Set([443, 80]);
/** ipaddr.js ranges the host reaches but the internet does not. */
const BLOCKED_RANGES = new Set([
  "unspecified",
  "broadcast",
  "multicast",
  "linkLocal",
  "loopback",
  "private",
  "carrierGradeNat",
  "uniqueLocal",
  "ipv4Mapped",
  "rfc6145",
  "rfc6052",
  "6to4",
  "teredo",
]);
/** A tunnel with no traffic for this long is closed. */
const IDLE_MS = 5 * 60_000;
const MAX_TUNNELS = 256;

/** The variables that send package managers through the forwarder. */
export function proxyEnv(): Record<string, string> {
  const url = `http://127.0.0.1:${EGRESS_PORT}`;
  return {
    HTTPS_PROXY: url,
    HTTP_PROXY: url,
    https_proxy: url,
    http_proxy: url,
    ALL_PROXY: url,
    npm_config_proxy: url,
    npm_config_https_proxy: url,
    YARN_HTTP_PROXY: url,
    YARN_HTTPS_PROXY: url,
    CARGO_HTTP_PROXY: url,
    NO_PROXY: "",
    no_proxy: "",
  };
}

/** Why an address may not be reached, or undefined when it may. */
export function blockedAddress(address: string): string | undefined {
  if (!ipaddr.isValid(address)) return "not an IP address";
  const range = ipaddr.process(address).range();
  return BLOCKED_RANGES.has(range) ? `${address} is ${range}` : undefined;
}

export class EgressProxy {
  /** Each refused connection, for the log and the tests. */
  readonly refused: string[] = [];
  private readonly tunnels = new Set<Socket>();

  private constructor(
    private readonly server: Server,
    private readonly dir: string,
    /** The proxy's Unix socket on the host. */
    readonly socket: string,
  ) {}

  /** Starts a proxy on a Unix socket in a fresh private folder (short enough for a socket path). */
  static async start(log: Logger, options: { lookup?: typeof lookup } = {}): Promise<EgressProxy> {
    const dir = await mkdtemp(path.join(tmpdir(), "tollgate-egress-"));
    const socket = path.join(dir, "s.sock");
    const server = createServer((req, res) => {
      res.writeHead(405, { "content-type": "text/plain" }).end("only HTTPS (CONNECT) goes through this proxy\n");
      req.resume();
    });
    const proxy = new EgressProxy(server, dir, socket);
    server.on("connect", (req: IncomingMessage, client: Socket, head: Buffer) => {
      void proxy.tunnel(req, client, head, options.lookup ?? lookup, log);
    });
    await new Promise<void>((resolve, reject) => server.once("error", reject).listen(socket, resolve));
    return proxy;
  }

  private async tunnel(req: IncomingMessage, client: Socket, head: Buffer, resolve: typeof lookup, log: Logger): Promise<void> {
    client.on("error", () => client.destroy());
    const refuse = (why: string) => {
      this.refused.push(`${req.url}: ${why}`);
      log.warn({ target: req.url, why }, "a setup command's connection was refused");
      client.end(`HTTP/1.1 403 Forbidden\r\ncontent-type: text/plain\r\n\r\nTollgate's sandbox refuses ${req.url}: ${why}\n`);
    };
    const match = /^\[?([^\]]+?)\]?:(\d{1,5})$/.exec(req.url ?? "");
    if (!match) return refuse("not host:port");
    const [, host, portText] = match;
    const port = Number(portText);
    if (!ALLOWED_PORTS.has(port)) return refuse(`port ${port} (only 443 and 80)`);
    if (this.tunnels.size >= MAX_TUNNELS) return refuse("too many connections at once");
    let addresses: string[];
    try {
      addresses = isIP(host!) ? [host!] : (await resolve(host!, { all: true, verbatim: true })).map((a) => a.address);
    } catch (error) {
      return refuse(`${host} does not resolve (${(error as NodeJS.ErrnoException).code ?? "error"})`);
    }
    const blocked = addresses.map(blockedAddress).find(Boolean);
    if (blocked || !addresses.length) return refuse(blocked ?? "no address");
    const upstream = connect({ host: addresses[0]!, port });
    this.tunnels.add(upstream);
    const close = () => {
      this.tunnels.delete(upstream);
      upstream.destroy();
      client.destroy();
    };
    upstream.setTimeout(IDLE_MS, close);
    upstream.once("error", (error) => {
      if (!client.writableEnded && upstream.bytesRead === 0) client.end(`HTTP/1.1 502 Bad Gateway\r\n\r\n${error.message}\n`);
      close();
    });
    upstream.once("connect", () => {
      client.write("HTTP/1.1 200 Connection Established\r\n\r\n");
      if (head.length) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    upstream.once("close", close);
    client.once("close", close);
  }

  async close(): Promise<void> {
    for (const socket of this.tunnels) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    await rm(this.dir, { recursive: true, force: true });
  }
}

/**
 * The forwarder, run inside the sandbox by the system's node as `node -e FORWARDER -- <socket>
 * <port> <argv…>`: it listens on 127.0.0.1:<port>, passes each connection to the Unix socket,
 * runs the command, and ends with the command's exit code (or signal). Only node's own modules.
 */
export const FORWARDER = `
const net = require("node:net");
const { spawn } = require("node:child_process");
const [socket, port, ...argv] = process.argv.slice(1);
const server = net.createServer((c) => {
  const u = net.connect(socket);
  c.on("error", () => u.destroy());
  u.on("error", () => c.destroy());
  c.pipe(u);
  u.pipe(c);
});
server.listen(Number(port), "127.0.0.1", () => {
  const child = spawn(argv[0], argv.slice(1), { stdio: "inherit" });
  child.on("error", (e) => { console.error("could not start " + argv[0] + ": " + e.message); process.exit(127); });
  child.on("exit", (code, signal) => {
    server.close();
    if (signal) process.kill(process.pid, signal);
    process.exit(code ?? 1);
  });
});
`;
