import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { cacheKey, DependencyCache } from "../../../src/setup/cache.js";

const MiB = 1024 * 1024;

function newCache(maxBytes: number, clock: { t: number }) {
  return new DependencyCache(mkdtempSync(path.join(tmpdir(), "tollgate-cache-")), maxBytes, () => clock.t);
}

/** Fills an entry's home with `bytes` of data, as an install would. */
function fill(dir: string, bytes: number) {
  writeFileSync(path.join(dir, "home", "blob"), Buffer.alloc(bytes, 1));
}

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
  it("is a miss until a setup completes with the entry, then a hit", async () => {
    const cache = newCache(100 * MiB, { t: Date.parse("2026-11-30T10:00:00Z") });
    const scope = { installationId: 7, repository: "acme/widgets" };
    const first = await cache.open(scope, "k1");
    expect(first.hit).toBe(false);
    await first.release();
    const again = await cache.open(scope, "k1");
    expect(again.hit).toBe(false); // opened, not completed
    await again.release();
    fill(first.dir, 2 * MiB);
    expect(await cache.complete(first)).toBeGreaterThanOrEqual(2 * MiB);
    const third = await cache.open(scope, "k1");
    expect(third.hit).toBe(true);
    await third.release();
    expect(await cache.stats()).toEqual({ entries: 1, bytes: expect.any(Number), maxBytes: 100 * MiB });
  });

  it("keeps installations and repositories apart, whatever their names hold", async () => {
    const cache = newCache(100 * MiB, { t: 0 });
    const a = await cache.open({ installationId: 7, repository: "acme/widgets" }, "k");
    const b = await cache.open({ installationId: 8, repository: "acme/widgets" }, "k");
    const c = await cache.open({ installationId: 7, repository: "acme/gadgets" }, "k");
    const evil = await cache.open({ installationId: 7, repository: "../.." }, "k");
    expect(new Set([a.dir, b.dir, c.dir, evil.dir]).size).toBe(4);
    for (const entry of [a, b, c, evil]) expect(entry.dir.startsWith(cache.root + path.sep)).toBe(true);
    await cache.complete(a);
    for (const entry of [a, b, c, evil]) await entry.release();
    const other = await cache.open({ installationId: 8, repository: "acme/widgets" }, "k");
    expect(other.hit).toBe(false);
    await other.release();
  });

  it("evicts the least recently used entries past its cap, but never one used in the last six hours", async () => {
    const clock = { t: Date.parse("2026-11-30T00:00:00Z") };
    const cache = newCache(5 * MiB, clock);
    const scope = { installationId: 1, repository: "o/r" };
    const entries = [];
    for (const key of ["old", "middle", "new"]) {
      const entry = await cache.open(scope, key);
      fill(entry.dir, 2 * MiB);
      await cache.complete(entry); // recently used: nothing is evicted yet, over the cap or not
      await entry.release();
      entries.push(entry);
      clock.t += 7 * 3_600_000;
    }
    // "old" was evicted when "new" completed (6 MiB > 5 MiB), as it was the least recently used and not recent
    expect(existsSync(entries[0]!.dir)).toBe(false);
    expect(existsSync(entries[1]!.dir)).toBe(true);
    expect(existsSync(entries[2]!.dir)).toBe(true);
    // a use makes an entry recent again: "middle" outlives a newer one that nobody used since
    await (await cache.open(scope, "middle")).release();
    clock.t += 7 * 3_600_000;
    const newest = await cache.open(scope, "newest");
    fill(newest.dir, 2 * MiB);
    await cache.complete(newest);
    await newest.release();
    expect(existsSync(entries[2]!.dir)).toBe(false);
    expect(existsSync(entries[1]!.dir)).toBe(true);
  });

  it("drops an entry whose setup failed, unless it was complete before", async () => {
    const cache = newCache(100 * MiB, { t: 0 });
    const scope = { repository: "local/demo" };
    const broken = await cache.open(scope, "broken");
    await cache.discard(broken);
    await broken.release();
    expect(existsSync(broken.dir)).toBe(false);
    const good = await cache.open(scope, "good");
    await cache.complete(good);
    await good.release();
    const again = await cache.open(scope, "good");
    await cache.discard(again); // a hit whose offline install failed keeps its downloads
    await again.release();
    expect(existsSync(again.dir)).toBe(true);
  });

  it("lets one setup at a time hold an entry: the second waits, then finds the first one's downloads", async () => {
    const cache = newCache(100 * MiB, { t: Date.parse("2026-11-30T10:00:00Z") });
    const scope = { installationId: 7, repository: "acme/widgets" };
    const first = await cache.open(scope, "k");
    const events: string[] = [];
    const second = cache.open(scope, "k").then((entry) => {
      events.push("second opened");
      return entry;
    });
    await cache.complete(first); // measures the entry (du): the second open would finish meanwhile, were it not held
    events.push("first released");
    await first.release();
    const entry = await second;
    expect(events).toEqual(["first released", "second opened"]);
    expect(entry.hit).toBe(true); // it read the entry as the first left it, complete
    await entry.release();
  });

  it("never evicts an entry a setup holds", async () => {
    const clock = { t: Date.parse("2026-11-30T00:00:00Z") };
    const cache = newCache(1 * MiB, clock);
    const scope = { installationId: 1, repository: "o/r" };
    const held = await cache.open(scope, "held");
    fill(held.dir, 2 * MiB);
    clock.t += 24 * 3_600_000;
    const other = await cache.open(scope, "other");
    fill(other.dir, 2 * MiB);
    await cache.complete(other); // over the cap; "held" is old but held
    expect(existsSync(held.dir)).toBe(true);
    await held.release();
    await other.release();
  });
});
