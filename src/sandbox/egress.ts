/**
 * The network a setup command gets: not the host's, but a proxy. The command's sandbox has a
 * network namespace of its own with nothing in it but loopback; a small forwarder started inside
 * (Tollgate's code, FORWARDER below) listens on 127.0.0.1:3128 there and passes each connection to
 * a Unix socket bound in from the host, where `EgressProxy` answers HTTP CONNECT. The proxy
 * resolves the name itself and lets through only addresses of the public internet (ipaddr.js's
 * `unicast`): not loopback (the app's database and server), private networks, link-local (cloud
 * metadata at 169.254.169.254), carrier-grade NAT, reserved or IPv4-compatible addresses, nor
 * ports other than 443 and 80. It connects to the address it checked (no second lookup for DNS
 * rebinding to race). A refusal says why in general words only, never the address a name
 * resolved to (so a command cannot map the host's internal names).
 *
 * The proxy runs in the process that serves webhooks and every installation's workers, so what it
 * keeps is bounded whatever the command does: counts by reason and by host (a few dozen keys), a
 * few samples and a few log lines. Connections at once, new connections a second and bytes are
 * capped; past a cap a connection is refused, and a command that keeps pushing (or moves more
 * than the bytes cap) makes the proxy abort `signal`, which the caller uses to stop the command.
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
/** A tunnel with no traffic for this long is closed. */
const IDLE_MS = 5 * 60_000;
/** How long a name may take to resolve, and an address to answer, before the connection is refused. */
const LOOKUP_MS = 10_000;
const CONNECT_MS = 30_000;
/**
 * Names resolved at once. dns.lookup runs on libuv's thread pool (4 threads), which all of the
 * process's file I/O shares: a flood of names a slow resolver answers must not hold all of it.
 * The others wait their turn (they hold a place among the connections at once).
 */
const LOOKUPS_AT_ONCE = 2;
/** A CONNECT target longer than a DNS name (253) and a port is refused before anything of it is kept. */
const MAX_TARGET_CHARS = 300;
/** What is kept of a host: its first characters, and at most this many distinct hosts and reasons (then "(other)"). */
const HOST_CHARS = 100;
const MAX_KEYS = 50;
/** Refusals logged one by one, and kept as samples for the summary. */
const LOGGED_REFUSALS = 5;

/** The proxy's caps, per proxy (one setup's install). */
export interface EgressLimits {
  /** Connections at once, counting those whose name is being resolved or whose address is being connected. */
  concurrent: number;
  /** New connections a second, on average (a token bucket)… */
  perSecond: number;
  /** …with bursts of up to this many. */
  burst: number;
  /** Bytes through all the tunnels, both ways: past it every tunnel is closed and the command stopped. */
  bytes: number;
  /** Connections refused by a cap (too many at once, too many a second) before the command is stopped. */
  overLimit: number;
  /** Connections refused by the policy (an address, a port, a name) before the command is stopped. */
  refusals: number;
}

export const DEFAULT_EGRESS_LIMITS: EgressLimits = {
  concurrent: 128,
  perSecond: 50,
  burst: 200,
  bytes: 8 * 1024 ** 3,
  overLimit: 200,
  refusals: 500,
};

/** Why a connection was refused: the key it is counted under. */
export type RefusalReason = "target" | "port" | "address" | "rate" | "concurrent" | "closed";

/** What the command is told: general words, never the address a name resolved to. */
const TOLD: Record<RefusalReason, string> = {
  target: "the request is not host:port",
  port: "only ports 443 and 80 are open",
  address: "the host is not on the public internet, or its name does not resolve",
  rate: "too many new connections a second",
  concurrent: "too many connections at once",
  closed: "the way out is closed: a limit was reached",
};

/** What the proxy kept: counts, and a few samples. */
export interface EgressSummary {
  /** Connections let through. */
  tunnels: number;
  /** Bytes through the tunnels, both ways. */
  bytes: number;
  refused: number;
  /** Refused connections by reason, and by host (at most MAX_KEYS hosts, then "(other)"). */
  byReason: Partial<Record<RefusalReason, number>>;
  byHost: Record<string, number>;
  /** The first few refusals, as `target: why` (the why may name the address: for the operator only). */
  samples: string[];
  /** The cap that stopped the command, in words ("opened more than …"). */
  exceeded?: string;
}

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

/**
 * Why an address may not be reached, or undefined when it may: only ipaddr.js's `unicast` range
 * (the public internet) is allowed, and not an IPv4-compatible IPv6 address (`::a.b.c.d`), which
 * ipaddr.js calls unicast too. IPv4-mapped addresses are judged as the IPv4 address they map.
 * The IPv4 documentation networks are let through too (DOCUMENTATION).
 */
export function blockedAddress(address: string): string | undefined {
  if (!ipaddr.isValid(address)) return "not an IP address";
  const range = ipaddr.process(address).range();
  if (range !== "unicast" && !documentation(address)) return `${address} is ${range}`;
  // ipaddr.js reads `::a.b.c.d` as IPv4-mapped, and `::7f00:1` as unicast: both are IPv4-compatible
  const raw = ipaddr.parse(address);
  const compatible =
    /^[0:]+(\d{1,3}\.){3}\d{1,3}$/.test(address) || (raw.kind() === "ipv6" && (raw as ipaddr.IPv6).parts.slice(0, 6).every((p) => p === 0));
  if (compatible) return `${address} is IPv4-compatible`;
  return undefined;
}

/**
 * The IPv4 documentation networks (TEST-NET-1, -2, -3): never routed on the internet, so no host
 * of an operator's answers there, but closed networks put registry mirrors on them (this
 * project's own CI machines reach the npm registry at 203.0.113.80). ipaddr.js counts them as
 * `reserved`, with 192.0.0.0/24, 198.18.0.0/15 and 240.0.0.0/4, which stay refused.
 */
const DOCUMENTATION = ["192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24"].map((c) => ipaddr.IPv4.parseCIDR(c));
function documentation(address: string): boolean {
  const parsed = ipaddr.process(address);
  return parsed.kind() === "ipv4" && DOCUMENTATION.some((range) => (parsed as ipaddr.IPv4).match(range));
}

/** Counts under at most MAX_KEYS keys; a new key past that is counted as "(other)". */
class BoundedCounts {
  readonly counts = new Map<string, number>();

  add(key: string): void {
    const k = this.counts.has(key) || this.counts.size < MAX_KEYS ? key : "(other)";
    this.counts.set(k, (this.counts.get(k) ?? 0) + 1);
  }
}

export class EgressProxy {
  private readonly tunnels = new Set<Socket>();
  /** The command's side of every connection being resolved, connected or tunnelled (closed with the proxy). */
  private readonly clients = new Set<Socket>();
  private readonly controller = new AbortController();
  private readonly byReason = new BoundedCounts();
  private readonly byHost = new BoundedCounts();
  private readonly samples: string[] = [];
  private refusedCount = 0;
  private overLimit = 0;
  private policyRefusals = 0;
  /** Connections being resolved, connected or tunnelled. */
  private active = 0;
  private tunnelled = 0;
  private lookups = 0;
  private readonly lookupQueue: Array<() => void> = [];
  private bytes = 0;
  private tokens: number;
  private refilledAt: number;

  private constructor(
    private readonly server: Server,
    private readonly dir: string,
    /** The proxy's Unix socket on the host. */
    readonly socket: string,
    private readonly log: Logger,
    private readonly limits: EgressLimits,
    private readonly now: () => number,
    private readonly resolve: typeof lookup,
    private readonly dial: (address: string, port: number) => Socket,
  ) {
    this.tokens = limits.burst;
    this.refilledAt = now();
  }

  /**
   * Starts a proxy on a Unix socket in a fresh private folder (short enough for a socket path).
   * `lookup`, `connect` and `now` are for tests.
   */
  static async start(
    log: Logger,
    options: {
      lookup?: typeof lookup;
      connect?: (address: string, port: number) => Socket;
      limits?: Partial<EgressLimits>;
      now?: () => number;
    } = {},
  ): Promise<EgressProxy> {
    const dir = await mkdtemp(path.join(tmpdir(), "tollgate-egress-"));
    const socket = path.join(dir, "s.sock");
    const limits = { ...DEFAULT_EGRESS_LIMITS, ...options.limits };
    // a CONNECT line is short: a long request is cut by the parser before it is kept
    const server = createServer({ maxHeaderSize: 4096, headersTimeout: 10_000, requestTimeout: 10_000 }, (req, res) => {
      res.writeHead(405, { "content-type": "text/plain" }).end("only HTTPS (CONNECT) goes through this proxy\n");
      req.resume();
    });
    // sockets that never send a CONNECT are bounded too
    server.maxConnections = limits.concurrent * 2;
    const dial = options.connect ?? ((host: string, port: number) => connect({ host, port }));
    const proxy = new EgressProxy(server, dir, socket, log, limits, options.now ?? Date.now, options.lookup ?? lookup, dial);
    server.on("connect", (req: IncomingMessage, client: Socket, head: Buffer) => void proxy.tunnel(req, client, head));
    // a request the parser refuses (a target past maxHeaderSize, not HTTP at all) is counted like any other refusal
    server.on("clientError", (error: NodeJS.ErrnoException, client: Socket) => {
      const what = error.code === "HPE_HEADER_OVERFLOW" ? "(too long)" : "(not HTTP)";
      proxy.refuse(client, "target", what, what, error.code ?? "a request that is not HTTP");
    });
    await new Promise<void>((resolve, reject) => server.once("error", reject).listen(socket, resolve));
    return proxy;
  }

  /** Aborted, with the exceeded cap in words as its reason's message, when the command should be stopped. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** The cap the command went past, in words ("opened more than …"), once it did. */
  get exceeded(): string | undefined {
    return this.controller.signal.aborted ? (this.controller.signal.reason as Error).message : undefined;
  }

  summary(): EgressSummary {
    return {
      tunnels: this.tunnelled,
      bytes: this.bytes,
      refused: this.refusedCount,
      byReason: Object.fromEntries(this.byReason.counts) as EgressSummary["byReason"],
      byHost: Object.fromEntries(this.byHost.counts),
      samples: [...this.samples],
      ...(this.exceeded ? { exceeded: this.exceeded } : {}),
    };
  }

  private exceed(what: string): void {
    if (this.controller.signal.aborted) return;
    this.log.error({ egress: this.summary(), exceeded: what }, "a setup command went past a cap of the way out: it is stopped");
    this.controller.abort(new Error(what));
    for (const socket of this.tunnels) socket.destroy();
  }

  /** Counts the refusal, keeps and logs the first few, and answers the command in general words. */
  private refuse(client: Socket, reason: RefusalReason, host: string, target: string, why: string): void {
    this.refusedCount++;
    this.byReason.add(reason);
    this.byHost.add(host.slice(0, HOST_CHARS).toLowerCase());
    if (this.samples.length < LOGGED_REFUSALS) {
      const sample = `${target.slice(0, HOST_CHARS + 6)}: ${why.slice(0, 200)}`;
      this.samples.push(sample);
      this.log.warn({ target: target.slice(0, HOST_CHARS + 6), why: why.slice(0, 200) }, "a setup command's connection was refused");
    }
    if (client.writable)
      client.end(`HTTP/1.1 403 Forbidden\r\ncontent-type: text/plain\r\n\r\nTollgate's sandbox refuses this connection: ${TOLD[reason]}\n`);
    else client.destroy();
    const { limits } = this;
    if (reason === "rate" || reason === "concurrent") {
      if (++this.overLimit >= limits.overLimit)
        this.exceed(
          reason === "rate"
            ? `opened more than ${limits.perSecond} connections a second through the way out (${this.overLimit} refused)`
            : `kept more than ${limits.concurrent} connections open at once through the way out (${this.overLimit} refused)`,
        );
    } else if (reason !== "closed" && ++this.policyRefusals >= limits.refusals) {
      this.exceed(`tried ${this.policyRefusals} connections the way out refuses (private or internal addresses, other ports)`);
    }
  }

  /** A token for a new connection, if the bucket has one. */
  private take(): boolean {
    const now = this.now();
    this.tokens = Math.min(this.limits.burst, this.tokens + (Math.max(0, now - this.refilledAt) * this.limits.perSecond) / 1000);
    this.refilledAt = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  private count(bytes: number): void {
    this.bytes += bytes;
    if (this.bytes > this.limits.bytes) this.exceed(`moved more than ${mib(this.limits.bytes)} through the way out`);
  }

  private async tunnel(req: IncomingMessage, client: Socket, head: Buffer): Promise<void> {
    client.on("error", () => client.destroy());
    this.clients.add(client);
    client.once("close", () => this.clients.delete(client));
    const raw = req.url ?? "";
    if (raw.length > MAX_TARGET_CHARS)
      return this.refuse(client, "target", "(too long)", "(too long)", `a target of ${raw.length} characters`);
    const match = /^\[?([^\]]+?)\]?:(\d{1,5})$/.exec(raw);
    if (!match) return this.refuse(client, "target", "(not host:port)", raw, "not host:port");
    const [, host, portText] = match as unknown as [string, string, string];
    const refuse = (reason: RefusalReason, why: string) => this.refuse(client, reason, host, raw, why);
    if (this.controller.signal.aborted) return refuse("closed", "a cap was reached");
    const port = Number(portText);
    if (!ALLOWED_PORTS.has(port)) return refuse("port", `port ${port} (only 443 and 80)`);
    if (!this.take()) return refuse("rate", `more than ${this.limits.perSecond} new connections a second`);
    if (this.active >= this.limits.concurrent) return refuse("concurrent", `more than ${this.limits.concurrent} connections at once`);

    // from here the connection holds a place, whether it is being resolved, connected or tunnelled
    this.active++;
    let held = true;
    const release = () => {
      if (held) this.active--;
      held = false;
    };
    let address: string;
    try {
      address = await this.checkedAddress(host);
    } catch (error) {
      release();
      return refuse("address", (error as Error).message);
    }
    if (this.controller.signal.aborted || client.destroyed) {
      release();
      return client.destroyed ? undefined : refuse("closed", "a cap was reached");
    }
    const upstream = this.dial(address, port);
    this.tunnels.add(upstream);
    const close = () => {
      release();
      this.tunnels.delete(upstream);
      upstream.destroy();
      client.destroy();
    };
    upstream.setTimeout(CONNECT_MS, close);
    upstream.once("error", (error: NodeJS.ErrnoException) => {
      if (!client.writableEnded && upstream.bytesRead === 0)
        client.end(`HTTP/1.1 502 Bad Gateway\r\n\r\nthe host did not answer (${error.code ?? "error"})\n`);
      close();
    });
    upstream.once("connect", () => {
      this.tunnelled++;
      upstream.setTimeout(IDLE_MS);
      client.write("HTTP/1.1 200 Connection Established\r\n\r\n");
      if (head.length) {
        this.count(head.length);
        upstream.write(head);
      }
      upstream.on("data", (chunk: Buffer) => this.count(chunk.length));
      client.on("data", (chunk: Buffer) => this.count(chunk.length));
      upstream.pipe(client);
      client.pipe(upstream);
    });
    upstream.once("close", close);
    client.once("close", close);
  }

  /** The address to connect to, checked; throws (with the reason, for the operator) when there is none the policy allows. */
  private async checkedAddress(host: string): Promise<string> {
    let addresses: string[];
    if (isIP(host)) addresses = [host];
    else {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(Object.assign(new Error("timeout"), { code: "ETIMEOUT" })), LOOKUP_MS);
      });
      try {
        addresses = (await Promise.race([this.lookup(host), timeout])).map((a) => a.address);
      } catch (error) {
        throw new Error(`${host} does not resolve (${(error as NodeJS.ErrnoException).code ?? "error"})`, { cause: error });
      } finally {
        clearTimeout(timer);
      }
    }
    const blocked = addresses.map(blockedAddress).find(Boolean);
    if (blocked || !addresses.length) throw new Error(blocked ?? "no address");
    return ipaddr.process(addresses[0]!).toString();
  }

  /** A lookup, LOOKUPS_AT_ONCE at a time: the place is held until the lookup ends, also after a timeout. */
  private async lookup(host: string): Promise<Array<{ address: string }>> {
    if (this.lookups >= LOOKUPS_AT_ONCE) await new Promise<void>((resolve) => this.lookupQueue.push(resolve));
    this.lookups++;
    const pending = this.resolve(host, { all: true, verbatim: true });
    const next = () => {
      this.lookups--;
      this.lookupQueue.shift()?.();
    };
    pending.then(next, next);
    return pending;
  }

  async close(): Promise<void> {
    for (const socket of [...this.tunnels, ...this.clients]) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    await rm(this.dir, { recursive: true, force: true });
  }
}

function mib(bytes: number): string {
  if (bytes >= 1024 ** 3) return `${Math.round((bytes / 1024 ** 3) * 10) / 10} GB`;
  return bytes >= 1024 ** 2 ? `${Math.round(bytes / 1024 ** 2)} MB` : `${Math.round(bytes / 1024)} KB`;
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
