import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { execFileSync } from "node:child_process";
import { tmpdir } from "node:os";
import path from "node:path";
import { cacheKey, DependencyCache } from "../../../src/setup/cache.js";
import type { SetupHome } from "../../../src/setup/environment.js";

const MiB = 1024 * 1024;

function newCache(maxBytes: number, clock: { t: number }) {
  return new DependencyCache(mkdtempSync(path.join(tmpdir(), "tollgate-cache-")), maxBytes, () => clock.t);
}

/** A setup's own home, as an install leaves it: npm's store with `bytes` of content, and whatever else it wrote. */
function home(bytes = 1024): SetupHome {
  const root = mkdtempSync(path.join(tmpdir(), "tollgate-home-"));
  const h = { home: path.join(root, "home"), bin: path.join(root, "bin"), corepack: path.join(root, "corepack") };
  mkdirSync(path.join(h.home, "npm", "_cacache", "content-v2"), { recursive: true });
  mkdirSync(h.bin, { recursive: true });
  mkdirSync(path.join(h.corepack, "v1", "pnpm"), { recursive: true });
  writeFileSync(path.join(h.home, "npm", "_cacache", "content-v2", "blob"), Buffer.alloc(bytes, 1));
  writeFileSync(path.join(h.corepack, "v1", "pnpm", "pnpm.cjs"), "// pnpm\n");
  return h;
}

const SCOPE = { installationId: 7, repository: "acme/widgets" };

describe("cacheKey", () => {
  it("changes with the lockfile, the commands and the toolchain, and nothing else", () => {
    const key = cacheKey(Buffer.from("lock"), [["npm", "ci"]], "node=v20.20.2");
    expect(key).toMatch(/^[0-9a-f]{32}$/);
    expect(cacheKey(Buffer.from("lock"), [["npm", "ci"]], "node=v20.20.2")).toBe(key);
    expect(cacheKey(Buffer.from("lock2"), [["npm", "ci"]], "node=v20.20.2")).not.toBe(key);
    expect(cacheKey(Buffer.from("lock"), [["npm", "install"]], "node=v20.20.2")).not.toBe(key);
    expect(cacheKey(Buffer.from("lock"), [["npm", "ci"]], "node=v22.1.0")).not.toBe(key);
    // parts cannot run into one another
    expect(cacheKey(Buffer.from("ab"), [], "c")).not.toBe(cacheKey(Buffer.from("a"), [], "bc"));
  });
});

describe("DependencyCache", () => {
  it("is a miss until a fill publishes the key, then a hit that restores the stores into another home", async () => {
    const cache = newCache(100 * MiB, { t: Date.parse("2026-11-30T10:00:00Z") });
    expect(await cache.lookup(SCOPE, "k1")).toBeUndefined();
    const bytes = await cache.publish(SCOPE, "k1", home(2 * MiB));
    expect(bytes).toBeGreaterThanOrEqual(2 * MiB);
    const hit = await cache.lookup(SCOPE, "k1");
    expect(hit).toMatchObject({ key: "k1", bytes });
    const into = home(0);
    await cache.restore(hit!, into);
    expect(readFileSync(path.join(into.home, "npm", "_cacache", "content-v2", "blob")).length).toBe(2 * MiB);
    expect(readFileSync(path.join(into.corepack, "v1", "pnpm", "pnpm.cjs"), "utf8")).toBe("// pnpm\n");
    expect(await cache.stats()).toEqual({ entries: 1, bytes: expect.any(Number), maxBytes: 100 * MiB });
  });

  it("publishes only the stores, as plain files: nothing planted beside them, no link, no setuid bit", async () => {
    const cache = newCache(100 * MiB, { t: 0 });
    const h = home();
    const outside = mkdtempSync(path.join(tmpdir(), "tollgate-outside-"));
    writeFileSync(path.join(outside, "secret"), "host file\n");
    // what an install script could leave in the home it may write
    writeFileSync(path.join(h.home, "npm", "npm"), "#!/bin/sh\necho planted\n", { mode: 0o755 });
    mkdirSync(path.join(h.home, "npm", "_npx", "x", "node_modules", ".bin"), { recursive: true });
    writeFileSync(path.join(h.home, "npm", "_npx", "x", "node_modules", ".bin", "tool"), "planted\n");
    mkdirSync(path.join(h.home, "go", "bin"), { recursive: true });
    writeFileSync(path.join(h.home, "go", "bin", "npm"), "planted\n");
    symlinkSync(path.join(outside, "secret"), path.join(h.home, "npm", "_cacache", "link"));
    symlinkSync(outside, path.join(h.home, "npm", "_cacache", "dirlink"));
    execFileSync("mkfifo", [path.join(h.home, "npm", "_cacache", "fifo")]);
    writeFileSync(path.join(h.home, "npm", "_cacache", "suid"), "x");
    chmodSync(path.join(h.home, "npm", "_cacache", "suid"), 0o4777);
    await cache.publish(SCOPE, "k", h);
    const hit = (await cache.lookup(SCOPE, "k"))!;
    expect(readdirSync(path.join(hit.dir, "stores")).sort()).toEqual(["corepack", "npm-cacache"]);
    expect(readdirSync(path.join(hit.dir, "stores", "npm-cacache")).sort()).toEqual(["content-v2", "suid"]);
    expect(lstatSync(path.join(hit.dir, "stores", "npm-cacache", "suid")).mode & 0o7777).toBe(0o755);
    const into = home(0);
    await cache.restore(hit, into);
    expect(existsSync(path.join(into.home, "npm", "npm"))).toBe(false);
    expect(existsSync(path.join(into.home, "npm", "_npx"))).toBe(false);
    expect(existsSync(path.join(into.home, "go"))).toBe(false);
    expect(existsSync(path.join(into.home, "npm", "_cacache", "link"))).toBe(false);
  });

  it("publishes a key once: a second fill of the same key leaves the first one's entry", async () => {
    const cache = newCache(100 * MiB, { t: 0 });
    expect(await cache.publish(SCOPE, "k", home(1000))).toBeGreaterThan(0);
    expect(await cache.publish(SCOPE, "k", home(5000))).toBeUndefined();
    const hit = (await cache.lookup(SCOPE, "k"))!;
    const into = home(0);
    await cache.restore(hit, into);
    expect(readFileSync(path.join(into.home, "npm", "_cacache", "content-v2", "blob")).length).toBe(1000);
    expect(readdirSync(path.dirname(hit.dir))).toEqual(["k"]); // no staging folder left
  });

  it("keeps installations and repositories apart, whatever their names hold", async () => {
    const cache = newCache(100 * MiB, { t: 0 });
    await cache.publish({ installationId: 7, repository: "acme/widgets" }, "k", home());
    await cache.publish({ installationId: 7, repository: "../.." }, "k", home());
    expect(await cache.lookup({ installationId: 8, repository: "acme/widgets" }, "k")).toBeUndefined();
    expect(await cache.lookup({ installationId: 7, repository: "acme/gadgets" }, "k")).toBeUndefined();
    expect(await cache.lookup({ repository: "acme/widgets" }, "k")).toBeUndefined();
    const evil = (await cache.lookup({ installationId: 7, repository: "../.." }, "k"))!;
    expect(evil.dir.startsWith(cache.root + path.sep)).toBe(true);
    expect(evil.dir).not.toBe((await cache.lookup({ installationId: 7, repository: "acme/widgets" }, "k"))!.dir);
  });

  it("evicts the least recently used entries past its cap, but never one used in the last six hours", async () => {
    const clock = { t: Date.parse("2026-11-30T00:00:00Z") };
    const cache = newCache(3 * MiB, clock);
    await cache.publish(SCOPE, "old", home(2 * MiB));
    clock.t += 3_600_000;
    await cache.publish(SCOPE, "middle", home(2 * MiB)); // over the cap, but "old" is recent
    expect(await cache.lookup(SCOPE, "old")).toBeDefined();
    clock.t += 7 * 3_600_000;
    await cache.lookup(SCOPE, "middle"); // used now
    await cache.publish(SCOPE, "new", home(2 * MiB));
    // "old" was used 7 hours ago: it goes; "middle" was just used, "new" was just made
    expect(await cache.lookup(SCOPE, "old")).toBeUndefined();
    expect(await cache.lookup(SCOPE, "middle")).toBeDefined();
    expect(await cache.lookup(SCOPE, "new")).toBeDefined();
  });

  it("never uses an entry of the earlier layout (its bin folder may hold a planted program), and evicts it", async () => {
    const clock = { t: Date.parse("2026-12-07T00:00:00Z") };
    const cache = newCache(100 * MiB, clock);
    const old = path.join(cache.root, "7", "acme", "widgets", "k");
    mkdirSync(path.join(old, "bin"), { recursive: true });
    writeFileSync(path.join(old, "bin", "npm"), "#!/bin/sh\necho planted\n");
    writeFileSync(
      path.join(old, "entry.json"),
      JSON.stringify({ key: "k", complete: true, bytes: 10, lastUsed: new Date(clock.t).toISOString() }),
    );
    expect(await cache.lookup(SCOPE, "k")).toBeUndefined();
    expect(await cache.evict()).toEqual([old]);
    expect(existsSync(old)).toBe(false);
  });

  it("drops a staging folder a crashed fill left, after a day", async () => {
    const clock = { t: Date.now() };
    const cache = newCache(100 * MiB, clock);
    const staging = path.join(cache.root, "7", "acme", "widgets", ".fill-crashed");
    mkdirSync(path.join(staging, "stores"), { recursive: true });
    expect(await cache.evict()).toEqual([]);
    const dayAgo = new Date(clock.t - 2 * 86_400_000);
    utimesSync(staging, dayAgo, dayAgo);
    expect(await cache.evict()).toEqual([staging]);
    expect(await cache.stats()).toMatchObject({ entries: 0 });
  });
});
