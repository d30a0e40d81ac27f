import { bearerAccess } from "../../../src/dashboard/auth.js";
import { chartOf, days } from "../../../src/dashboard/overview.js";
import { scriptJson } from "../../../src/dashboard/render.js";
import { timeline } from "../../../src/dashboard/run-page.js";
import { githubWebUrl, nextPage, parseRunFilter, PAGE_SIZE } from "../../../src/dashboard/runs-list.js";
import type { RunListRow } from "../../../src/stores/dashboard-runs.js";

describe("the dashboard's pieces", () => {
  it("charts dollars per day, the biggest series first, the rest summed as other", () => {
    const labels = days(new Date("2026-11-01T00:00:00Z"), 3);
    expect(labels).toEqual(["2026-11-01", "2026-11-02", "2026-11-03"]);
    const values = [
      { day: "2026-11-01", key: "a", micros: 5_000_000 },
      { day: "2026-11-02", key: "b", micros: 1_000_000 },
      { day: "2026-11-03", key: "c", micros: 500_000 },
      { day: "2026-11-03", key: "d", micros: 250_000 },
      { day: "2026-10-31", key: "a", micros: 9_000_000 }, // outside the axis
    ];
    const chart = chartOf("x", "X", labels, values, 3);
    expect(chart.datasets).toEqual([
      { label: "a", data: [5, 0, 0] },
      { label: "b", data: [0, 1, 0] },
      { label: "other", data: [0, 0, 0.75] },
    ]);
  });

  it("lays the timeline out on the run's own time axis, each round's cost on its first bar", () => {
    const t = (s: number) => new Date(Date.UTC(2026, 10, 30, 12, 0, s));
    const bars = timeline(
      [
        { name: "gate", iteration: 0, status: "succeeded", startedAt: t(0), finishedAt: t(10) },
        { name: "execute", iteration: 1, status: "failed", startedAt: t(10), finishedAt: t(30) },
        { name: "execute", iteration: 1, status: "succeeded", startedAt: t(30), finishedAt: t(40) },
      ],
      [
        { phase: "gate", iteration: 0, costMicros: 1_000 },
        { phase: "execute", iteration: 1, costMicros: 2_000 },
        { phase: "execute", iteration: 1, costMicros: null },
      ],
      t(99),
    );
    expect(bars.total).toBe("40.0s");
    expect(bars.bars.map((b) => [b.label, b.x, b.width, b.costMicros])).toEqual([
      ["gate", 0, 25, 1_000],
      ["execute · round 1", 25, 50, 2_000],
      ["execute · round 1", 75, 25, 0],
    ]);
  });

  it("reads the runs filter, naming the first bad value", () => {
    expect(parseRunFilter(new URLSearchParams("repository=octo/app&status=failed&type=bug&since=2026-11-01")).filter).toMatchObject({
      repository: "octo/app",
      status: "failed",
      ticketType: "bug",
      since: "2026-11-01",
    });
    expect(parseRunFilter(new URLSearchParams("repository=octo")).error).toMatch(/owner\/name/);
    expect(parseRunFilter(new URLSearchParams("since=2026-13-45")).error).toMatch(/not a date/);
    expect(parseRunFilter(new URLSearchParams("type=epic")).error).toMatch(/not a ticket type/);
    expect(parseRunFilter(new URLSearchParams("before=yesterday")).error).toMatch(/damaged/);
  });

  it("links the next page only when this one is full", () => {
    const row = (i: number) => ({
      id: `00000000-0000-0000-0000-${String(i).padStart(12, "0")}`,
      createdAt: new Date(Date.UTC(2026, 10, 1, 0, 0, i)),
    });
    const full = Array.from({ length: PAGE_SIZE }, (_, i) => row(PAGE_SIZE - i)) as RunListRow[];
    expect(nextPage(new URLSearchParams("status=failed&fragment=rows"), full)).toBe(
      `/dashboard/runs?status=failed&before=2026-11-01T00%3A00%3A01.000Z_00000000-0000-0000-0000-000000000001`,
    );
    expect(nextPage(new URLSearchParams(), full.slice(1))).toBeUndefined();
  });

  it("links github.com for api.github.com, and the server itself for GitHub Enterprise Server", () => {
    expect(githubWebUrl("https://api.github.com")).toBe("https://github.com");
    expect(githubWebUrl("https://ghe.example.com/api/v3")).toBe("https://ghe.example.com");
  });

  it("embeds JSON that no value can break out of", () => {
    const text = scriptJson({ label: "</script><script>alert(1)</script> & <!--" });
    expect(text).not.toMatch(/[<>&]/);
    expect(JSON.parse(text)).toEqual({ label: "</script><script>alert(1)</script> & <!--" });
  });

  it("takes the operator token only as a bearer, compared whole", () => {
    const token = "t".repeat(40);
    expect(bearerAccess(undefined, token)).toBeUndefined();
    expect(bearerAccess(`Bearer ${token}`, token)).toEqual({ ok: true, access: { all: true, who: "operator token" } });
    expect(bearerAccess(`Bearer ${token.slice(1)}`, token)).toMatchObject({ ok: false });
    expect(bearerAccess(`Basic ${token}`, token)).toMatchObject({ ok: false });
    // a bearer sent when no token is configured is refused, never treated as the operator
    expect(bearerAccess(`Bearer ${token}`, undefined)).toMatchObject({ ok: false });
  });
});
