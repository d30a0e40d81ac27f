import { mkdirSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { localCacheRepository } from "../../../src/app/cache-scope.js";

describe("a local run's dependency cache scope", () => {
  it("differs for two repositories with the same folder name, and keeps the name readable", () => {
    const a = path.join(mkdtempSync(path.join(tmpdir(), "tollgate-a-")), "app");
    const b = path.join(mkdtempSync(path.join(tmpdir(), "tollgate-b-")), "app");
    mkdirSync(a);
    mkdirSync(b);
    expect(localCacheRepository(a)).toMatch(/^local\/app-[0-9a-f]{12}$/);
    expect(localCacheRepository(b)).toMatch(/^local\/app-[0-9a-f]{12}$/);
    expect(localCacheRepository(a)).not.toBe(localCacheRepository(b));
  });

  it("is the same for the same repository, however its path is written", () => {
    const a = path.join(mkdtempSync(path.join(tmpdir(), "tollgate-a-")), "app");
    expect(localCacheRepository(`${a}/`)).toBe(localCacheRepository(a));
    expect(localCacheRepository(path.relative(process.cwd(), a))).toBe(localCacheRepository(a));
  });
});
