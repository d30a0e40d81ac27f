import { GitHubRequestValidator } from "../helpers/openapi.js";

describe("the GitHub request validator (test harness)", () => {
  it("accepts well-formed requests", () => {
    const v = new GitHubRequestValidator();
    v.check({
      method: "POST",
      url: "/repos/{owner}/{repo}/issues/{issue_number}/comments",
      owner: "o",
      repo: "r",
      issue_number: 1,
      body: "hi",
    });
    v.check({
      method: "PATCH",
      url: "/repos/{owner}/{repo}/issues/comments/{comment_id}",
      owner: "o",
      repo: "r",
      comment_id: 9,
      body: "edited",
    });
    v.check({
      method: "GET",
      url: "/repos/{owner}/{repo}/issues/{issue_number}/comments",
      owner: "o",
      repo: "r",
      issue_number: 1,
      per_page: 100,
    });
    v.check({
      method: "POST",
      url: "/repos/{owner}/{repo}/issues/{issue_number}/labels",
      owner: "o",
      repo: "r",
      issue_number: 1,
      labels: ["ai-needs-spec"],
    });
    expect(v.errors).toEqual([]);
  });

  it.each([
    [
      { method: "POST", url: "/repos/{owner}/{repo}/issues/{issue_number}/comments", owner: "o", repo: "r", issue_number: 1, bdy: "typo" },
      /must NOT have additional properties|must have required property 'body'/,
    ],
    [
      { method: "POST", url: "/repos/{owner}/{repo}/issue/{issue_number}/comments", owner: "o", repo: "r", issue_number: 1, body: "x" },
      /no such endpoint/,
    ],
    [
      { method: "GET", url: "/repos/{owner}/{repo}/issues/{issue_number}/comments", owner: "o", repo: "r", issue_number: 1, perpage: 100 },
      /unknown query parameter\(s\) perpage/,
    ],
    [{ method: "POST", url: "/repos/{owner}/{repo}/labels", owner: "o", repo: "r", name: "x", color: 123 }, /must be string/],
    [
      { method: "PATCH", url: "/repos/{owner}/{repo}/issues/comments/{comment_id}", owner: "o", repo: "r", body: "x" },
      /path parameter comment_id is missing/,
    ],
  ])("refuses a malformed request (%#)", (options, message) => {
    const v = new GitHubRequestValidator();
    expect(() => v.check(options)).toThrow(message);
    expect(v.errors).toHaveLength(1);
  });
});

describe("expanded URLs (pagination)", () => {
  it("matches an expanded URL to its template and checks its query", () => {
    const v = new GitHubRequestValidator();
    v.check({ method: "GET", url: "https://api.github.com/repos/o/r/issues/1/comments?per_page=100&page=2" });
    expect(v.requests).toEqual(["GET /repos/{owner}/{repo}/issues/{issue_number}/comments"]);
    expect(() => v.check({ method: "GET", url: "https://api.github.com/repos/o/r/issues/1/comments?perpage=100" })).toThrow(
      /unknown query parameter\(s\) perpage/,
    );
  });
});
