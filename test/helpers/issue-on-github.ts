/**
 * Issue #1 of Codertocat/Hello-World as GitHub keeps it, for the authority tests: labels, label
 * events, comments and who has which access, answered by nock with the state kept between calls
 * (every request still checked against the OpenAPI description by the test app).
 */
import nock from "nock";
import type { ScriptStep } from "../../src/llm/scripted-model.js";
import { issueTextSha256 } from "../../src/safety/text-hash.js";
import { APP_ID } from "./app.js";
import { API } from "./github.js";
import { INSTALLATION_ID, type Payload } from "./webhooks.js";

export const O = "Codertocat";
export const R = "Hello-World";
export const REPO_ID = 186853002;
const STICKY = "<!-- tollgate:sticky -->";

export type Level = "admin" | "maintain" | "write" | "triage" | "read" | "none";

/** Issue #1 of Codertocat/Hello-World as GitHub keeps it, answered by nock (every request still checked against the OpenAPI description). */
export class IssueOnGitHub {
  title = "Add a --verbose flag";
  body = "The CLI should print each request when --verbose is given; a unit test checks the output.";
  labels: string[] = ["ai-ready"];
  state: "open" | "closed" = "open";
  /** The issue's events, oldest first (only `labeled` ones matter here). */
  events: Array<{ id: number; event: string; actor: { login: string }; label: { name: string; color: string } }> = [];
  access: Record<string, Level> = {};
  comments: Array<{
    id: number;
    body: string;
    user: { login: string; type: string };
    performed_via_github_app?: { id: number; slug: string };
    created_at: string;
    updated_at: string;
  }> = [];
  /** Bodies of the comments Tollgate posted that are not its sticky one. */
  get replies(): string[] {
    return this.comments.filter((c) => c.user.type === "Bot" && !c.body.startsWith(STICKY)).map((c) => c.body);
  }
  readonly permissionChecks: string[] = [];

  constructor() {
    const base = `/repos/${O}/${R}`;
    nock(API)
      .persist()
      .post(`/app/installations/${INSTALLATION_ID}/access_tokens`)
      .reply(201, { token: "ghs_authoritytoken000000000000000000001", expires_at: "2099-01-01T00:00:00Z" })
      .get(/\/repos\/[^/]+\/[^/]+\/contents\/.github%2Ftollgate.yml$/)
      .reply(404, { message: "Not Found" })
      .get(`${base}/issues/1`)
      .reply(200, () => ({
        number: 1,
        title: this.title,
        body: this.body,
        state: this.state,
        labels: this.labels.map((name, i) => ({ id: i + 1, name, color: "ededed" })),
        user: { login: O, type: "User" },
      }))
      .get(`${base}/issues/1/events`)
      .query(true)
      .reply(200, () => this.events)
      .get(/\/repos\/[^/]+\/[^/]+\/collaborators\/[^/]+\/permission$/)
      .reply(200, (uri) => {
        const login = decodeURIComponent(uri.split("/").at(-2)!);
        this.permissionChecks.push(login);
        const level = this.access[login] ?? "none";
        const legacy = level === "maintain" ? "write" : level === "triage" ? "read" : level;
        return { permission: legacy, role_name: level, user: { login, id: 1, type: "User" } };
      })
      .get(`${base}/issues/1/comments`)
      .query(true)
      .reply(200, () => this.comments)
      .post(/\/repos\/[^/]+\/[^/]+\/issues\/\d+\/comments$/)
      .reply(201, (_uri, body: { body: string }) => {
        const comment = {
          id: 9000 + this.comments.length,
          body: body.body,
          user: { login: "tollgate[bot]", type: "Bot" },
          performed_via_github_app: { id: APP_ID, slug: "tollgate" },
          created_at: new Date().toISOString(),
          updated_at: new Date().toISOString(),
        };
        this.comments.push(comment);
        return comment;
      })
      .patch(/\/repos\/[^/]+\/[^/]+\/issues\/comments\/\d+$/)
      .reply(200, (uri, body: { body: string }) => {
        const comment = this.comments.find((c) => c.id === Number(uri.split("/").pop()))!;
        comment.body = body.body;
        return comment;
      })
      .post(/\/repos\/[^/]+\/[^/]+\/issues\/comments\/\d+\/reactions$/)
      .reply(201, { id: 1, content: "+1" })
      .delete(`${base}/issues/1/labels/ai-needs-spec`)
      .reply(200, () => ((this.labels = this.labels.filter((l) => l !== "ai-needs-spec")), []))
      .post(`${base}/labels`)
      .reply(422, { message: "Validation Failed" })
      .post(`${base}/issues/1/labels`)
      .reply(200, (_uri, body: { labels: string[] }) => ((this.labels = [...new Set([...this.labels, ...body.labels])]), []))
      .get(base)
      .reply(200, { id: REPO_ID, name: R, full_name: `${O}/${R}`, default_branch: "main", description: "A demo repository" })
      .get(`${base}/languages`)
      .reply(200, { TypeScript: 1000 })
      .get(`${base}/contents`)
      .reply(200, [{ name: "src", type: "dir", path: "src" }])
      .get(`${base}/readme`)
      .reply(200, "# Hello\n", { "content-type": "text/plain; charset=utf-8" });
  }

  /** `login` adds `label` (an event GitHub records). */
  labelledBy(login: string, label = "ai-ready"): void {
    this.events.push({ id: this.events.length + 1, event: "labeled", actor: { login }, label: { name: label, color: "ededed" } });
    if (!this.labels.includes(label)) this.labels.push(label);
  }

  /** A comment by a person, written now. */
  commentBy(login: string, body: string): void {
    const now = new Date().toISOString();
    this.comments.push({ id: 5000 + this.comments.length, body, user: { login, type: "User" }, created_at: now, updated_at: now });
  }

  /** A payload about issue #1 as its sender saw the issue: with the issue's text as it is now. */
  sees(payload: Payload): Payload {
    if (payload.issue?.number === 1 && !payload.issue.pull_request) Object.assign(payload.issue, { title: this.title, body: this.body });
    return payload;
  }

  /** The hash of the issue's text now (what a gate checkpoint records). */
  get textSha256(): string {
    return issueTextSha256(this);
  }
}

export const verdict = (ready: boolean) => ({
  ready,
  score: ready ? 82 : 30,
  criteria: Object.fromEntries(
    ["problem", "acceptance_criteria", "scope", "constraints", "test_plan"].map((c) => [
      c,
      { status: ready || c === "problem" ? "pass" : "missing", note: `${c} note` },
    ]),
  ),
  questions: ready ? [] : ["What exactly?"],
  ticket_type: "feature",
  size: "s",
});
export const gateAnswer = (ready: boolean, latencyMs = 0): ScriptStep => ({
  toolUse: { name: "submit_verdict", input: verdict(ready) },
  usage: { input_tokens: 1_000, output_tokens: 200, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 },
  latencyMs,
});
