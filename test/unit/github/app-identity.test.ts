import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import nock from "nock";
import { ProbotOctokit } from "probot";
import { appIdentity, botIdentity } from "../../../src/github/app-identity.js";
import type { Octokit } from "../../../src/github/issues.js";
import { TOLLGATE_IDENTITY } from "../../../src/pipeline/carry-out.js";
import { HumanCommitError, Workspace } from "../../../src/workspace/workspace.js";
import { bareRepo, git, humanCommit } from "../../helpers/git.js";
import { TEST_PRIVATE_KEY } from "../../helpers/keys.js";
import { captureLog } from "../../helpers/log.js";
import { GitHubRequestValidator } from "../../helpers/openapi.js";

const API = "https://api.github.com";
const validator = new GitHubRequestValidator();
const octokit = (auth: { token: string } | { appId: number; privateKey: string }) =>
  new (ProbotOctokit.plugin(validator.plugin).defaults({ retry: { enabled: false } }))({
    auth,
    log: captureLog().log,
  }) as unknown as Octokit;
/** The app itself (its JWT), as Probot's `auth()` with no installation gives it. */
const appOctokit = () => octokit({ appId: 123, privateKey: TEST_PRIVATE_KEY });
const installationOctokit = () => octokit({ token: "installation-token" });
const BOT = { name: "tollgate[bot]", email: "4242+tollgate[bot]@users.noreply.github.com" };
const newDir = () => path.join(mkdtempSync(path.join(tmpdir(), "tollgate-run-")), "repo");

beforeAll(() => nock.disableNetConnect());
afterEach(() => {
  nock.cleanAll();
  expect(validator.errors).toEqual([]);
});
afterAll(() => nock.enableNetConnect());

describe("the app's identity", () => {
  it("is its bot user, as GitHub links a commit to an app", () => {
    expect(botIdentity("tollgate", 4242)).toEqual(BOT);
  });

  it("is read once (GET /app with the app's JWT, then its [bot] user), and still owns the old identity's commits", async () => {
    // the app's JWT answers only GET /app; the bot user is asked with the installation's token
    const app = nock(API, { reqheaders: { authorization: (value: string) => /^bearer [\w-]+\.[\w-]+\.[\w-]+$/.test(value) } })
      .get("/app")
      .reply(200, { id: 123, slug: "tollgate", name: "Tollgate" });
    const users = nock(API, { reqheaders: { authorization: "token installation-token" } })
      .get(`/users/${encodeURIComponent("tollgate[bot]")}`)
      .reply(200, { login: "tollgate[bot]", id: 4242, type: "Bot" });
    const { log, lines } = captureLog();
    let asked = 0;
    const identity = appIdentity(async () => (asked++, appOctokit()), TOLLGATE_IDENTITY, log);
    const installation = installationOctokit();
    const [first, second] = await Promise.all([identity(installation), identity(installation)]);
    expect(first).toEqual({ ...BOT, formerEmails: [TOLLGATE_IDENTITY.email] });
    expect(await identity(installation)).toBe(second);
    expect(asked).toBe(1);
    expect(users.isDone()).toBe(true);
    expect(app.isDone()).toBe(true);
    expect(lines().filter((l) => l.level >= 40)).toEqual([]);
  });

  it("falls back to the old identity, with one warning, when GitHub cannot say (a run never fails for this)", async () => {
    nock(API).get("/app").reply(500, { message: "Server Error" });
    const { log, lines } = captureLog();
    const identity = appIdentity(async () => appOctokit(), TOLLGATE_IDENTITY, log);
    const installation = installationOctokit();
    expect(await identity(installation)).toEqual(TOLLGATE_IDENTITY);
    expect(await identity(installation)).toEqual(TOLLGATE_IDENTITY); // not asked again: nock has nothing more to answer
    const warnings = lines().filter((l) => l.level === 40);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.msg).toBe(
      "could not read the app's identity from GitHub: commits are by tollgate[bot] <tollgate[bot]@users.noreply.github.com>",
    );
  });

  it("falls back too when the app cannot be authenticated at all", async () => {
    const { log, lines } = captureLog();
    const identity = appIdentity(() => Promise.reject(new Error("no private key")), TOLLGATE_IDENTITY, log);
    expect(await identity(installationOctokit())).toEqual(TOLLGATE_IDENTITY);
    expect(lines().filter((l) => l.level === 40)).toHaveLength(1);
  });
});

describe("a branch made under the old identity", () => {
  it("is still Tollgate's own: its commits are not foreign and a push over them goes through; a human's still stops it", async () => {
    const bare = bareRepo();
    const old = await Workspace.clone({ remoteUrl: `file://${bare}`, dir: newDir(), branch: "main", identity: TOLLGATE_IDENTITY });
    writeFileSync(path.join(old.dir, "a.txt"), "a\n");
    await old.commitAll("Fix #1");
    await old.push("tollgate/issue-1");

    // by the new identity alone, the old identity's commit is someone else's
    const strict = await Workspace.clone({ remoteUrl: `file://${bare}`, dir: newDir(), branch: "main", identity: BOT });
    expect(await strict.foreignAuthors(await strict.head(), await strict.fetchBranch("tollgate/issue-1"))).toEqual([
      TOLLGATE_IDENTITY.email,
    ]);

    // with the old email as a former one, it is Tollgate's own
    const ws = await Workspace.clone({
      remoteUrl: `file://${bare}`,
      dir: newDir(),
      branch: "main",
      identity: { ...BOT, formerEmails: [TOLLGATE_IDENTITY.email] },
    });
    expect(await ws.foreignAuthors(await ws.head(), await ws.fetchBranch("tollgate/issue-1"))).toEqual([]);
    writeFileSync(path.join(ws.dir, "b.txt"), "b\n");
    await ws.commitAll("Fix #1 again");
    await ws.push("tollgate/issue-1");
    expect(git(bare, "log", "-1", "--format=%an <%ae>", "tollgate/issue-1").trim()).toBe(`${BOT.name} <${BOT.email}>`);

    // a human's commit is still someone else's
    humanCommit(bare, "tollgate/issue-1");
    const later = await Workspace.clone({
      remoteUrl: `file://${bare}`,
      dir: newDir(),
      branch: "main",
      identity: { ...BOT, formerEmails: [TOLLGATE_IDENTITY.email] },
    });
    writeFileSync(path.join(later.dir, "c.txt"), "c\n");
    await later.commitAll("Fix #1 once more");
    await expect(later.push("tollgate/issue-1")).rejects.toThrow(HumanCommitError);
  });
});
