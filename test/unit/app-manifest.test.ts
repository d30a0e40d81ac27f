import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";

const manifest = parse(readFileSync(fileURLToPath(new URL("../../app.yml", import.meta.url)), "utf8"));

describe("app.yml (the manifest Probot registers the app from)", () => {
  it("is a private app with a name and description", () => {
    expect(manifest.name).toBe("Tollgate");
    expect(manifest.description).toEqual(expect.any(String));
    expect(manifest.public).toBe(false);
  });

  it("subscribes to the events Tollgate handles", () => {
    expect([...manifest.default_events].sort()).toEqual(
      ["issue_comment", "issues", "pull_request", "pull_request_review", "pull_request_review_comment"].sort(),
    );
  });

  it("asks for exactly issues, contents and pull requests write, metadata read, and no workflows", () => {
    expect(manifest.default_permissions).toEqual({ issues: "write", contents: "write", pull_requests: "write", metadata: "read" });
  });
});
