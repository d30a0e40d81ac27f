/** nock scopes for the GitHub API calls the worker makes. */
import nock from "nock";

export const API = "https://api.github.com";

export function installationToken(installationId: number, times = 1): nock.Scope {
  return nock(API)
    .post(`/app/installations/${installationId}/access_tokens`)
    .times(times)
    .reply(201, { token: "ghs_testinstallationtoken000000000000000", expires_at: "2099-01-01T00:00:00Z", permissions: { issues: "write" } });
}

/**
 * `.github/tollgate.yml` in owner/repo, asked for `times` times: a string is the file's text
 * (served as GitHub serves the raw media type), `undefined` is a 404.
 */
export function configFile(owner: string, repo: string, text: string | undefined, times = 1): nock.Scope {
  const scope = nock(API).get(`/repos/${owner}/${repo}/contents/${encodeURIComponent(".github/tollgate.yml")}`).times(times);
  return text === undefined
    ? scope.reply(404, { message: "Not Found", documentation_url: "https://docs.github.com/rest/repos/contents#get-repository-content", status: "404" })
    : scope.reply(200, text, { "content-type": "text/plain; charset=utf-8" });
}
