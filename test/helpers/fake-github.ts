/**
 * GitHub for end-to-end runs: one repository and one issue, answered by nock with state kept
 * between calls (the sticky comment as edited, the pull requests as opened and updated), the
 * way a real run sees them over many calls. Every request still goes through the app's
 * OpenAPI validator.
 */
import nock from "nock";
import { APP_ID } from "./app.js";
import { API } from "./github.js";

/** Who the app's comments are by, as GitHub says: its bot user, and (on issue comments) the app. */
export const TOLLGATE_BOT = { login: "tollgate[bot]", type: "Bot" };
export const TOLLGATE_APP = { id: APP_ID, slug: "tollgate" };
/** The app's bot user's id (GET /users/tollgate[bot]): its commits are by `<id>+tollgate[bot]@users.noreply.github.com`. */
export const TOLLGATE_BOT_ID = 190_000_123;

export interface FakePull {
  number: number;
  node_id: string;
  title: string;
  body: string;
  draft: boolean;
  head: string;
  base: string;
  state: "open" | "closed";
  /** Every body the PR had, in order. */
  bodies: string[];
}

export interface FakeGitHubOptions {
  owner: string;
  repo: string;
  issue: number;
  installationId: number;
  title: string;
  body: string;
  /** `.github/tollgate.yml`; undefined for none. */
  config?: string;
  token: string;
  permission?: Permission;
  /** Access by user, for those who differ from `permission`. */
  permissions?: Record<string, Permission>;
}

type Permission = "admin" | "maintain" | "write" | "triage" | "read" | "none";

export class FakeGitHub {
  readonly comments: Array<{
    id: number;
    issue: number;
    body: string;
    user: { login: string; type: string };
    performed_via_github_app?: { id: number; slug: string } | null;
    created_at?: string;
    updated_at?: string;
  }> = [];
  /** The issue's events, oldest first: a `labeled` one for each label a payload sent through `sees` added. */
  readonly events: Array<{ id: number; event: string; actor: { login: string }; label: { name: string; color: string } }> = [];
  /** Every body the sticky comment had, in order. */
  readonly stickyBodies: string[] = [];
  readonly pulls: FakePull[] = [];
  /** The GraphQL documents sent (all but the viewer query, which asks who the token is). */
  readonly graphql: string[] = [];
  readonly reactions: Array<{ commentId: number; content: string }> = [];
  /** The review comments of every PR, as GET …/pulls/{n}/comments lists them (replies land here too). */
  readonly reviewComments: Array<{
    id: number;
    pr: number;
    in_reply_to_id?: number;
    user: { login: string; type: string };
    path: string;
    line: number | null;
    original_line: number;
    diff_hunk: string;
    body: string;
    created_at: string;
  }> = [];
  readonly reviews: Array<{
    id: number;
    pr: number;
    user: { login: string; type: string };
    state: string;
    body: string;
    submitted_at: string;
  }> = [];
  /** Replies (comments that are not the sticky one) on an issue or PR, in order. */
  replies(issue = this.o.issue): string[] {
    return this.comments.filter((c) => c.issue === issue && !c.body.startsWith("<!-- tollgate:sticky -->")).map((c) => c.body);
  }
  /**
   * A webhook payload about to be sent, made true to this GitHub: the issue's text as it serves it
   * (the text its sender saw), and a label added is on record as a `labeled` event.
   */
  sees<
    P extends {
      action?: string;
      issue?: { number: number; title: string; body?: string | null };
      label?: { name: string };
      sender?: { login: string };
    },
  >(payload: P): P {
    if (payload.issue?.number === this.o.issue) Object.assign(payload.issue, { title: this.o.title, body: this.o.body });
    if (payload.action === "labeled" && payload.label && payload.sender) {
      const id = 7_000_000 + this.events.length;
      this.events.push({
        id,
        event: "labeled",
        actor: { login: payload.sender.login },
        label: { name: payload.label.name, color: "ededed" },
      });
    }
    return payload;
  }
  readonly scope: nock.Scope;
  /** Answer the next PR creation with this status (e.g. 502), once. */
  failNextPullCreate?: number;

  constructor(readonly o: FakeGitHubOptions) {
    const base = `/repos/${o.owner}/${o.repo}`;
    this.scope = nock(API)
      .persist()
      // the app itself (asked with its JWT) and its bot user: who the commits are by
      .get("/app")
      .reply(200, { ...TOLLGATE_APP, name: "Tollgate", owner: { login: o.owner, type: "Organization" } })
      .get(`/users/${encodeURIComponent(TOLLGATE_BOT.login)}`)
      .reply(200, { ...TOLLGATE_BOT, id: TOLLGATE_BOT_ID })
      .post(`/app/installations/${o.installationId}/access_tokens`)
      .reply(201, {
        token: o.token,
        expires_at: "2099-01-01T00:00:00Z",
        permissions: { issues: "write", contents: "write", pull_requests: "write" },
      })
      .get(`${base}/contents/${encodeURIComponent(".github/tollgate.yml")}`)
      .reply(() =>
        o.config === undefined ? [404, { message: "Not Found" }] : [200, o.config, { "content-type": "text/plain; charset=utf-8" }],
      )
      .get(`/repos/${o.owner}/.github/contents/${encodeURIComponent(".github/tollgate.yml")}`)
      .reply(404, { message: "Not Found" })
      .get(/\/repos\/[^/]+\/[^/]+\/collaborators\/[^/]+\/permission$/)
      .reply(200, (uri) => {
        const login = decodeURIComponent(uri.split("/").at(-2)!);
        const level = o.permissions?.[login] ?? o.permission ?? "write";
        // the REST answer folds maintain into write and triage into read; role_name keeps them
        const legacy = level === "maintain" ? "write" : level === "triage" ? "read" : level;
        return { permission: legacy, role_name: level, user: { login, id: 1, type: "User" } };
      })
      .post(/\/repos\/[^/]+\/[^/]+\/issues\/comments\/\d+\/reactions$/)
      .reply(201, (uri, body: { content: string }) => {
        this.reactions.push({ commentId: Number(uri.split("/").at(-2)), content: body.content });
        return { id: this.reactions.length, content: body.content };
      })
      .get(`${base}/issues/${o.issue}`)
      .reply(200, () => ({
        number: o.issue,
        title: o.title,
        body: o.body,
        state: "open",
        labels: [{ id: 1, name: "ai-ready", color: "ededed" }],
        user: { login: "Codertocat", type: "User" },
      }))
      .get(/\/repos\/[^/]+\/[^/]+\/issues\/\d+\/events(\?.*)?$/)
      .reply(200, () => this.events)
      .get(/\/repos\/[^/]+\/[^/]+\/issues\/\d+\/comments(\?.*)?$/)
      .reply(200, (uri) => this.comments.filter((c) => c.issue === Number(new URL(uri, API).pathname.split("/").at(-2))))
      .post(/\/repos\/[^/]+\/[^/]+\/issues\/\d+\/comments$/)
      .reply(201, (uri, body: { body: string }) => {
        const comment = {
          id: 9000 + this.comments.length,
          issue: Number(uri.split("/").at(-2)),
          body: body.body,
          user: TOLLGATE_BOT,
          performed_via_github_app: TOLLGATE_APP,
          created_at: new Date().toISOString(),
          updated_at: new Date().toISOString(),
        };
        this.comments.push(comment);
        if (body.body.startsWith("<!-- tollgate:sticky -->")) this.stickyBodies.push(body.body);
        return comment;
      })
      .patch(/\/repos\/[^/]+\/[^/]+\/issues\/comments\/\d+$/)
      .reply(200, (uri, body: { body: string }) => {
        const id = Number(uri.split("/").pop());
        const comment = this.comments.find((c) => c.id === id);
        if (!comment) return { message: "Not Found" };
        comment.body = body.body;
        comment.updated_at = new Date().toISOString();
        this.stickyBodies.push(body.body);
        return comment;
      })
      .delete(`${base}/issues/${o.issue}/labels/ai-needs-spec`)
      .reply(404, { message: "Label does not exist" })
      .get(base)
      .reply(200, {
        id: 1296269,
        name: o.repo,
        full_name: `${o.owner}/${o.repo}`,
        default_branch: "main",
        description: "A demo repository",
      })
      .get(`${base}/languages`)
      .reply(200, { JavaScript: 10_000 })
      .get(`${base}/contents`)
      .reply(200, [
        { name: "src", type: "dir", path: "src" },
        { name: "README.md", type: "file", path: "README.md" },
      ])
      .get(`${base}/readme`)
      .reply(200, "# Greeter\n", { "content-type": "text/plain; charset=utf-8" })
      .get(`${base}/pulls`)
      .query(true)
      .reply(200, (uri) => {
        const head = new URL(uri, API).searchParams.get("head")?.split(":")[1];
        return this.pulls.filter((p) => p.state === "open" && p.head === head).map((p) => this.#pullJson(p));
      })
      .post(`${base}/pulls`)
      .reply((_uri, body) => {
        if (this.failNextPullCreate) {
          const status = this.failNextPullCreate;
          this.failNextPullCreate = undefined;
          return [status, { message: "Server Error" }];
        }
        const b = body as { title: string; body: string; draft: boolean; head: string; base: string };
        const pull: FakePull = {
          number: 100 + this.pulls.length,
          node_id: `PR_node${this.pulls.length}`,
          title: b.title,
          body: b.body,
          draft: b.draft,
          head: b.head,
          base: b.base,
          state: "open",
          bodies: [b.body],
        };
        this.pulls.push(pull);
        return [201, this.#pullJson(pull)];
      })
      .patch(/\/repos\/[^/]+\/[^/]+\/pulls\/\d+$/)
      .reply(200, (uri, body: { title?: string; body?: string }) => {
        const pull = this.pulls.find((p) => p.number === Number(uri.split("/").pop()))!;
        if (body.title) pull.title = body.title;
        if (body.body !== undefined) {
          pull.body = body.body;
          pull.bodies.push(body.body);
        }
        return this.#pullJson(pull);
      })
      .get(/\/repos\/[^/]+\/[^/]+\/pulls\/\d+\/comments(\?.*)?$/)
      .reply(200, (uri) => this.reviewComments.filter((c) => c.pr === Number(new URL(uri, API).pathname.split("/").at(-2))))
      .get(/\/repos\/[^/]+\/[^/]+\/pulls\/\d+\/reviews(\?.*)?$/)
      .reply(200, (uri) => this.reviews.filter((r) => r.pr === Number(new URL(uri, API).pathname.split("/").at(-2))))
      .post(/\/repos\/[^/]+\/[^/]+\/pulls\/\d+\/comments\/\d+\/replies$/)
      .reply(201, (uri, body: { body: string }) => {
        const parts = uri.split("/");
        const to = this.reviewComments.find((c) => c.id === Number(parts.at(-2)))!;
        const reply = {
          ...to,
          id: 7_000 + this.reviewComments.length,
          in_reply_to_id: to.id,
          user: TOLLGATE_BOT, // review comments carry no performed_via_github_app
          body: body.body,
          created_at: new Date().toISOString(),
        };
        this.reviewComments.push(reply);
        return reply;
      })
      .post("/graphql")
      .reply(200, (_uri, body: { query: string; variables?: { id: string } }) => {
        // who the installation token is: its bot user (how Tollgate knows its own review comments)
        if (/^\s*query\s*\{\s*viewer\s*\{\s*login\s*\}\s*\}\s*$/.test(body.query))
          return { data: { viewer: { login: TOLLGATE_BOT.login } } };
        this.graphql.push(body.query);
        const pull = this.pulls.find((p) => p.node_id === (body as { id?: string }).id || p.node_id === body.variables?.id);
        if (pull) pull.draft = /convertPullRequestToDraft/.test(body.query);
        return { data: {} };
      });
  }

  /** The sticky comment's current body. */
  get sticky(): string | undefined {
    return this.comments.find((c) => c.issue === this.o.issue && c.body.startsWith("<!-- tollgate:sticky -->"))?.body;
  }

  #pullJson(p: FakePull) {
    return {
      number: p.number,
      node_id: p.node_id,
      html_url: `https://github.com/${this.o.owner}/${this.o.repo}/pull/${p.number}`,
      title: p.title,
      body: p.body,
      draft: p.draft,
      state: p.state,
      head: { ref: p.head, label: `${this.o.owner}:${p.head}` },
      base: { ref: p.base },
    };
  }
}
