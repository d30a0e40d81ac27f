/** nock scopes for the GitHub API calls the worker makes. */
import nock from "nock";
import { APP_ID } from "./app.js";

export const API = "https://api.github.com";

export function installationToken(installationId: number, times = 1): nock.Scope {
  return nock(API)
    .post(`/app/installations/${installationId}/access_tokens`)
    .times(times)
    .reply(201, {
      token: "ghs_testinstallationtoken000000000000000",
      expires_at: "2099-01-01T00:00:00Z",
      permissions: { issues: "write" },
    });
}

/**
 * `.github/tollgate.yml` in owner/repo, asked for `times` times: a string is the file's text
 * (served as GitHub serves the raw media type), `undefined` is a 404.
 */
export function configFile(owner: string, repo: string, text: string | undefined, times = 1): nock.Scope {
  const scope = nock(API)
    .get(`/repos/${owner}/${repo}/contents/${encodeURIComponent(".github/tollgate.yml")}`)
    .times(times);
  return text === undefined
    ? scope.reply(404, {
        message: "Not Found",
        documentation_url: "https://docs.github.com/rest/repos/contents#get-repository-content",
        status: "404",
      })
    : scope.reply(200, text, { "content-type": "text/plain; charset=utf-8" });
}

/** `GET …/collaborators/{user}/permission` as GitHub answers it. */
export function permission(
  owner: string,
  repo: string,
  user: string,
  level: "admin" | "write" | "read" | "none",
  roleName?: string,
): nock.Scope {
  return nock(API)
    .get(`/repos/${owner}/${repo}/collaborators/${user}/permission`)
    .reply(200, { permission: level, role_name: roleName ?? level, user: { login: user, id: 1, type: "User" } });
}

export interface FakeComment {
  id: number;
  body: string;
  user: { login: string; type: "User" | "Bot" };
  /** The app that wrote it; by default Tollgate on tollgate[bot]'s comments, as GitHub sets it, and none otherwise. */
  performed_via_github_app?: { id: number; slug: string } | null;
  /** When it was written (by default long before any test's event). */
  created_at?: string;
  updated_at?: string;
}

const LONG_AGO = "2026-01-05T09:00:00Z";

/** A comment as GitHub lists it: one by Tollgate's bot user carries the app that created it; both carry their times. */
const served = (c: FakeComment) => {
  const timed = { created_at: LONG_AGO, updated_at: LONG_AGO, ...c };
  return c.user.login === "tollgate[bot]" ? { performed_via_github_app: { id: APP_ID, slug: "tollgate" }, ...timed } : timed;
};

/** The issue's events as GitHub lists them: `actor` added `label` (the event a labelled run consumes). */
export function labelEvents(owner: string, repo: string, issue: number, actor: string, label = "ai-ready"): nock.Scope {
  return nock(API)
    .get(`/repos/${owner}/${repo}/issues/${issue}/events`)
    .query({ per_page: "100" })
    .reply(200, [
      { id: 6_100_001, event: "labeled", actor: { login: actor }, label: { name: label, color: "ededed" }, created_at: LONG_AGO },
    ]);
}

/** Lists of the issue's comments, one reply per call, in order. */
export function commentLists(owner: string, repo: string, issue: number, replies: FakeComment[][]): nock.Scope {
  const scope = nock(API);
  for (const reply of replies) {
    scope.get(`/repos/${owner}/${repo}/issues/${issue}/comments`).query({ per_page: "100" }).reply(200, reply.map(served));
  }
  return scope;
}

/** The issue, the repository, its languages, top level and README. */
export function issueAndRepo(
  owner: string,
  repo: string,
  issue: number,
  data: { title: string; body: string; labels?: string[] },
): nock.Scope {
  return nock(API)
    .get(`/repos/${owner}/${repo}/issues/${issue}`)
    .reply(200, {
      number: issue,
      title: data.title,
      body: data.body,
      state: "open",
      labels: (data.labels ?? ["ai-ready"]).map((name, i) => ({ id: i + 1, name, color: "ededed" })),
      user: { login: "Codertocat", type: "User" },
    })
    .get(`/repos/${owner}/${repo}`)
    .reply(200, { id: 1296269, name: repo, full_name: `${owner}/${repo}`, default_branch: "main", description: "A demo repository" })
    .get(`/repos/${owner}/${repo}/languages`)
    .reply(200, { TypeScript: 92_000, Shell: 8_000 })
    .get(`/repos/${owner}/${repo}/contents`)
    .reply(200, [
      { name: "src", type: "dir", path: "src" },
      { name: "package.json", type: "file", path: "package.json" },
      { name: "README.md", type: "file", path: "README.md" },
    ])
    .get(`/repos/${owner}/${repo}/readme`)
    .reply(200, "# Hello World\n\nA CLI that greets people.\n", { "content-type": "text/plain; charset=utf-8" });
}

/** Comments posted (POST) and edited (PATCH); their bodies land in `posted`. */
export function commentWrites(
  owner: string,
  repo: string,
  issue: number,
  posted: string[],
  options: { creates?: number; editsOf?: number; edits?: number } = {},
): nock.Scope {
  const scope = nock(API);
  if (options.creates) {
    scope
      .post(`/repos/${owner}/${repo}/issues/${issue}/comments`)
      .times(options.creates)
      .reply(201, (_uri: string, body: { body: string }) => {
        posted.push(body.body);
        return served({ id: 9000 + posted.length, body: body.body, user: { login: "tollgate[bot]", type: "Bot" } });
      });
  }
  if (options.edits && options.editsOf) {
    scope
      .patch(`/repos/${owner}/${repo}/issues/comments/${options.editsOf}`)
      .times(options.edits)
      .reply(200, (_uri: string, body: { body: string }) => {
        posted.push(body.body);
        return { id: options.editsOf, body: body.body };
      });
  }
  return scope;
}
