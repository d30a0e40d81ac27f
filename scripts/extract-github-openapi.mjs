// Extracts, from GitHub's OpenAPI description, what the tests need to check every request the
// app sends: for each endpoint Tollgate uses, its parameters and request-body schema. The full
// description (@octokit/openapi, 385 MB installed) is not a dependency; install it anywhere and
// point this script at it:
//
//   npm install --prefix /tmp/oa @octokit/openapi@23.0.2
//   node scripts/extract-github-openapi.mjs /tmp/oa/node_modules/@octokit/openapi/generated/api.github.com.deref.json
//
// Add an endpoint to ENDPOINTS when the app starts calling it, and run the script again.
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

export const ENDPOINTS = [
  "POST /app/installations/{installation_id}/access_tokens",
  "GET /app",
  "GET /app/hook/deliveries",
  "POST /app/hook/deliveries/{delivery_id}/attempts",
  "GET /repos/{owner}/{repo}",
  "GET /repos/{owner}/{repo}/languages",
  "GET /repos/{owner}/{repo}/readme",
  "GET /repos/{owner}/{repo}/contents/{path}",
  "GET /repos/{owner}/{repo}/git/trees/{tree_sha}",
  "GET /repos/{owner}/{repo}/collaborators/{username}/permission",
  "GET /repos/{owner}/{repo}/issues/{issue_number}",
  "GET /repos/{owner}/{repo}/issues/{issue_number}/comments",
  "GET /repos/{owner}/{repo}/issues/{issue_number}/events",
  "POST /repos/{owner}/{repo}/issues/{issue_number}/comments",
  "PATCH /repos/{owner}/{repo}/issues/comments/{comment_id}",
  "POST /repos/{owner}/{repo}/issues/comments/{comment_id}/reactions",
  "POST /repos/{owner}/{repo}/issues/{issue_number}/labels",
  "DELETE /repos/{owner}/{repo}/issues/{issue_number}/labels/{name}",
  "POST /repos/{owner}/{repo}/labels",
  "GET /repos/{owner}/{repo}/pulls",
  "POST /repos/{owner}/{repo}/pulls",
  "PATCH /repos/{owner}/{repo}/pulls/{pull_number}",
  "POST /repos/{owner}/{repo}/pulls/{pull_number}/comments/{comment_id}/replies",
  "GET /repos/{owner}/{repo}/pulls/{pull_number}",
  "GET /repos/{owner}/{repo}/pulls/{pull_number}/comments",
  "GET /repos/{owner}/{repo}/pulls/{pull_number}/reviews",
  "GET /users/{username}",
];

const source = process.argv[2];
if (!source) {
  console.error("usage: node scripts/extract-github-openapi.mjs <path to api.github.com.deref.json>");
  process.exit(2);
}
const spec = JSON.parse(readFileSync(source, "utf8"));
const out = { source: `@octokit/openapi ${spec.info?.version ?? ""}`.trim(), endpoints: {} };
for (const endpoint of ENDPOINTS) {
  const [method, path] = endpoint.split(" ");
  const operation = spec.paths[path]?.[method.toLowerCase()];
  if (!operation) throw new Error(`${endpoint} is not in the OpenAPI description`);
  out.endpoints[endpoint] = {
    operationId: operation.operationId,
    parameters: (operation.parameters ?? []).map((p) => ({ name: p.name, in: p.in, required: Boolean(p.required), schema: p.schema })),
    body: operation.requestBody?.content?.["application/json"]?.schema ?? null,
    bodyRequired: Boolean(operation.requestBody?.required),
  };
}
const target = fileURLToPath(new URL("../test/fixtures/github/openapi-requests.json", import.meta.url));
writeFileSync(target, `${JSON.stringify(out, null, 1)}\n`);
console.log(`wrote ${Object.keys(out.endpoints).length} endpoints to ${target}`);
