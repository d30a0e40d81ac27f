import { parseReportOptions } from "../../../src/cli/report.js";

const now = Date.parse("2026-11-28T12:00:00Z");
const base = { since: "30d", by: "phase", format: "table" };

describe("tollgate report options", () => {
  it("reads relative and absolute times, dimensions and filters", () => {
    const q = parseReportOptions({ ...base, since: "2w", until: "2026-11-27", by: "repo,day", installation: "42", repo: "octo/app" }, now);
    expect(q).toEqual({
      by: ["repo", "day"],
      since: new Date("2026-11-14T12:00:00Z"),
      until: new Date("2026-11-27T00:00:00Z"),
      format: "table",
      installationId: 42,
      repo: "octo/app",
      merged: false,
    });
    expect(parseReportOptions({ ...base, by: "issue", merged: true }, now)).toMatchObject({ by: ["issue"], merged: true });
    expect(parseReportOptions(base, now).since).toEqual(new Date("2026-10-29T12:00:00Z"));
  });

  it.each([
    [{ by: "colour" }, /^--by "colour" is not a dimension: choose from phase, model, repo, ticket_type, day, issue$/],
    [{ by: "" }, /^--by needs a dimension/],
    [{ format: "xml" }, /^--format "xml" is not one of table, csv, json$/],
    [{ since: "yesterday" }, /^--since "yesterday" is not a time/],
    [{ since: "1d", until: "2d" }, /^--since must be before --until$/],
    [{ installation: "abc" }, /^--installation "abc" is not an installation id/],
    [{ repo: "just-a-name" }, /^--repo "just-a-name" is not owner\/name$/],
  ])("refuses bad input with a clear line: %o", (bad, message) => {
    expect(() => parseReportOptions({ ...base, ...bad }, now)).toThrow(message);
  });
});
