/**
 * The egress proxy's bounds: whatever a setup command sends, the proxy keeps counts and a few
 * samples, logs a few lines, refuses past its caps (connections at once, new connections a
 * second, bytes) and says so through its signal, and tells the command only general words,
 * never the address a name resolved to. Names are resolved by an injected lookup and time is a
 * fake clock: nothing here waits on the wall clock.
 */
import { connect, createServer, type AddressInfo, type Server, type Socket } from "node:net";
import type { lookup } from "node:dns/promises";
import { blockedAddress, EgressProxy, type EgressLimits } from "../../../src/sandbox/egress.js";
import { captureLog, type CapturedLog } from "../../helpers/log.js";

type Lookup = typeof lookup;
/** Resolves every name to `address` (or as `names` says), like dns.lookup with `all: true`. */
const resolvesTo = (address: string, names: Record<string, string> = {}) =>
  (async (host: string) => {
    const a = names[host] ?? address;
    if (a === "NXDOMAIN") throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: "ENOTFOUND" });
    return [{ address: a, family: a.includes(":") ? 6 : 4 }];
  }) as unknown as Lookup;

/** Sends one CONNECT; resolves with the response's head (and the socket, still open on a 200). */
function send(socket: string, target: string): Promise<{ head: string; client: Socket }> {
  return new Promise((resolve, reject) => {
    const client = connect(socket);
    let text = "";
    const done = () => resolve({ head: text, client });
    client.on("data", (chunk: Buffer) => {
      text += chunk.toString("latin1");
      if (text.startsWith("HTTP/1.1 200") && text.includes("\r\n\r\n")) done();
    });
    client.on("end", done);
    client.on("close", done);
    client.on("error", (error) => (text ? done() : reject(error)));
    client.write(`CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n\r\n`);
  });
}

/** Sends `targets`, `batch` at a time. */
async function flood(socket: string, targets: string[], batch = 50): Promise<string[]> {
  const heads: string[] = [];
  for (let i = 0; i < targets.length; i += batch)
    heads.push(...(await Promise.all(targets.slice(i, i + batch).map(async (t) => (await send(socket, t)).head))));
  return heads;
}

const warnings = (log: CapturedLog) => log.lines().filter((l) => l.level === 40);

describe("the egress proxy keeps counts, not bodies", () => {
  let proxy: EgressProxy | undefined;
  afterEach(async () => {
    await proxy?.close();
    proxy = undefined;
  });
  const start = async (
    log: CapturedLog,
    options: { lookup?: Lookup; limits?: Partial<EgressLimits>; now?: () => number; connect?: (a: string, p: number) => Socket },
  ) => (proxy = await EgressProxy.start(log.log, options));

  it("a flood of refused CONNECTs leaves bounded counts, five samples and five log lines", async () => {
    const log = captureLog();
    const p = await start(log, { lookup: resolvesTo("10.0.0.1"), limits: { perSecond: 1e9, burst: 1e9, refusals: 1e9 } });
    const long = "x".repeat(250);
    const targets = [
      ...Array.from({ length: 3000 }, (_, i) => `host-${i}.internal:443`),
      ...Array.from({ length: 200 }, (_, i) => `10.0.${i % 250}.1:443`),
      ...Array.from({ length: 100 }, (_, i) => `${long}${i}:443`),
    ];
    const heads = await flood(p.socket, targets);
    expect(heads.every((h) => h.startsWith("HTTP/1.1 403"))).toBe(true);
    const summary = p.summary();
    expect(summary.refused).toBe(3300);
    expect(summary.byReason).toEqual({ address: 3300 });
    expect(Object.keys(summary.byHost)).toHaveLength(51);
    expect(summary.byHost["(other)"]).toBe(3300 - 50);
    expect(Object.keys(summary.byHost).every((h) => h.length <= 100)).toBe(true);
    expect(Object.values(summary.byHost).reduce((a, b) => a + b, 0)).toBe(3300);
    expect(summary.samples).toHaveLength(5);
    expect(summary.samples[0]).toBe("host-0.internal:443: 10.0.0.1 is private");
    expect(warnings(log)).toHaveLength(5);
    expect(log.lines().length).toBeLessThanOrEqual(5);
    expect(summary.exceeded).toBeUndefined();
    expect(p.signal.aborted).toBe(false);
  });

  it("a target longer than a name and a port is refused before anything of it is kept", async () => {
    const log = captureLog();
    const p = await start(log, { lookup: resolvesTo("93.184.216.34") });
    // past the cap of a target, and past the parser's cap of a request (4 KiB)
    for (const length of [1000, 5000]) {
      const { head } = await send(p.socket, `${"a".repeat(length)}.example:443`);
      expect(head).toMatch(/^HTTP\/1.1 403/);
    }
    expect(p.summary()).toMatchObject({ refused: 2, byReason: { target: 2 }, byHost: { "(too long)": 2 } });
    expect(log.text()).not.toContain("a".repeat(200));
  });

  it("stops the command after too many refusals, and refuses everything after that", async () => {
    const log = captureLog();
    const p = await start(log, { lookup: resolvesTo("10.0.0.1"), limits: { refusals: 100 } });
    await flood(
      p.socket,
      Array.from({ length: 100 }, (_, i) => `h${i}.internal:443`),
    );
    expect(p.signal.aborted).toBe(true);
    expect(p.exceeded).toBe("tried 100 connections the way out refuses (private or internal addresses, other ports)");
    const after = await send(p.socket, "registry.npmjs.org:443");
    expect(after.head).toContain("the way out is closed: a limit was reached");
    expect(p.summary().byReason).toEqual({ address: 100, closed: 1 });
    // five refusals one by one and the one line that says the command is stopped
    expect(log.lines().map((l) => l.level)).toEqual([40, 40, 40, 40, 40, 50]);
  });

  it("caps new connections a second, refills with time, and stops a command that keeps on", async () => {
    let now = 1_000_000;
    const log = captureLog();
    const p = await start(log, { lookup: resolvesTo("10.0.0.1"), now: () => now, limits: { perSecond: 10, burst: 10, overLimit: 20 } });
    const first = await flood(
      p.socket,
      Array.from({ length: 15 }, (_, i) => `h${i}.internal:443`),
      1,
    );
    expect(first.slice(0, 10).every((h) => h.includes("not on the public internet"))).toBe(true);
    expect(first.slice(10).every((h) => h.includes("too many new connections a second"))).toBe(true);
    now += 500; // half a second: five more
    const second = await flood(
      p.socket,
      Array.from({ length: 6 }, (_, i) => `k${i}.internal:443`),
      1,
    );
    expect(second.filter((h) => h.includes("not on the public internet"))).toHaveLength(5);
    expect(p.summary().byReason).toEqual({ address: 15, rate: 6 });
    expect(p.signal.aborted).toBe(false);
    await flood(
      p.socket,
      Array.from({ length: 14 }, (_, i) => `m${i}.internal:443`),
    );
    expect(p.exceeded).toBe("opened more than 10 connections a second through the way out (20 refused)");
    expect((p.signal.reason as Error).message).toBe(p.exceeded);
  });

  it("counts names still being resolved against the connections at once", async () => {
    const log = captureLog();
    const pending = (() => new Promise(() => undefined)) as unknown as Lookup; // a name server that never answers
    const p = await start(log, { lookup: pending, limits: { concurrent: 3, overLimit: 1e9 } });
    const hanging = Array.from({ length: 3 }, (_, i) => send(p.socket, `slow-${i}.example:443`));
    void hanging;
    // the three lookups are pending: the fourth connection finds no place (retried until they are all in)
    let refused = "";
    for (let i = 0; i < 200 && !refused.includes("too many connections at once"); i++)
      refused = (await send(p.socket, "next.example:443")).head;
    expect(refused).toContain("too many connections at once");
    expect(p.summary().byReason.concurrent).toBeGreaterThanOrEqual(1);
    expect(p.summary().byReason.address).toBeUndefined();
  });

  it("closes every tunnel past the bytes cap and says so", async () => {
    const log = captureLog();
    const upstream: Server = createServer((s) => {
      s.on("error", () => undefined);
      s.write(Buffer.alloc(512 * 1024, 1));
    });
    await new Promise<void>((resolve) => upstream.listen(0, "127.0.0.1", resolve));
    const port = (upstream.address() as AddressInfo).port;
    const dialled: string[] = [];
    const dial = (address: string) => {
      dialled.push(address);
      return connect({ host: "127.0.0.1", port });
    };
    const p = await start(log, { lookup: resolvesTo("93.184.216.34"), connect: dial, limits: { bytes: 100 * 1024 } });
    try {
      const { head, client } = await send(p.socket, "registry.example:443");
      expect(head).toMatch(/^HTTP\/1.1 200/);
      await new Promise((resolve) => (client.destroyed ? resolve(undefined) : client.once("close", resolve)));
      expect(dialled).toEqual(["93.184.216.34"]);
      expect(p.exceeded).toBe("moved more than 100 KB through the way out");
      expect(p.summary()).toMatchObject({ tunnels: 1, refused: 0 });
      expect(p.summary().bytes).toBeGreaterThan(100 * 1024);
      expect((await send(p.socket, "registry.example:443")).head).toMatch(/^HTTP\/1.1 403/);
    } finally {
      upstream.close();
    }
  });

  it("tells the command general words: never the address a name resolved to, and the same for a private name as for no name", async () => {
    const log = captureLog();
    const p = await start(log, {
      lookup: resolvesTo("93.184.216.34", {
        "db.corp.internal": "10.23.45.67",
        "metadata.internal": "169.254.169.254",
        "gone.example": "NXDOMAIN",
      }),
    });
    const [internal, metadata, gone] = await flood(p.socket, ["db.corp.internal:443", "metadata.internal:443", "gone.example:443"], 1);
    for (const head of [internal, metadata, gone]) {
      expect(head).toMatch(/^HTTP\/1.1 403/);
      expect(head).not.toMatch(/10\.23\.45\.67|169\.254|linkLocal|private|ENOTFOUND/);
    }
    expect(internal).toBe(gone);
    expect(metadata).toBe(gone);
    // the operator's log keeps the reason
    expect(p.summary().samples).toEqual([
      "db.corp.internal:443: 10.23.45.67 is private",
      "metadata.internal:443: 169.254.169.254 is linkLocal",
      "gone.example:443: gone.example does not resolve (ENOTFOUND)",
    ]);
  });
});

describe("blockedAddress: only the public internet", () => {
  // the IPv4 documentation networks are never routed on the internet; closed networks (this CI's) put mirrors there
  it.each(["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "::ffff:8.8.8.8", "203.0.113.80", "192.0.2.1", "198.51.100.7"])(
    "allows %s",
    (a) => {
      expect(blockedAddress(a)).toBeUndefined();
    },
  );
  it.each([
    ["127.0.0.1", "loopback"],
    ["10.0.0.1", "private"],
    ["169.254.169.254", "linkLocal"],
    ["100.64.0.1", "carrierGradeNat"],
    ["0.0.0.0", "unspecified"],
    ["192.0.0.192", "reserved"],
    ["198.18.0.1", "reserved"],
    ["2001:2::1", "benchmarking"],
    ["240.0.0.1", "reserved"],
    ["fec0::1", "deprecatedSiteLocal"],
    ["100::1", "discard"],
    ["::7f00:1", "IPv4-compatible"],
    ["::1.2.3.4", "IPv4-compatible"],
    ["::ffff:10.0.0.1", "private"],
    ["::1", "loopback"],
    ["fc00::1", "uniqueLocal"],
    ["fe80::1", "linkLocal"],
    ["64:ff9b::a00:1", "rfc6052"],
    ["2002::1", "6to4"],
    ["2001::1", "teredo"],
    ["2001:db8::1", "reserved"],
    ["ff02::1", "multicast"],
    ["not-an-ip", "not an IP address"],
  ])("refuses %s (%s)", (address, why) => {
    expect(blockedAddress(address)).toMatch(new RegExp(`${why.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}$`));
  });
});
