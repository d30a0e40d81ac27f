/**
 * Checks every request the app sends to GitHub against GitHub's OpenAPI description (the
 * extract in test/fixtures/github/openapi-requests.json, made by
 * scripts/extract-github-openapi.mjs): the endpoint must exist for that method, its path
 * parameters be given, its query parameters be known, and its body fit the schema, with
 * unknown fields refused so that a misspelled one fails the test.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Ajv, type ValidateFunction } from "ajv";

interface Parameter {
  name: string;
  in: "path" | "query" | "header";
  required: boolean;
}
interface EndpointSpec {
  parameters: Parameter[];
  body: Record<string, unknown> | null;
  bodyRequired: boolean;
}

const spec = JSON.parse(readFileSync(fileURLToPath(new URL("../fixtures/github/openapi-requests.json", import.meta.url)), "utf8")) as {
  endpoints: Record<string, EndpointSpec>;
};

/** Refuses unknown fields wherever an object schema lists its properties. */
function closed(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(closed);
  if (!schema || typeof schema !== "object") return schema;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(schema))
    out[k] = k === "properties" ? Object.fromEntries(Object.entries(v as object).map(([p, s]) => [p, closed(s)])) : closed(v);
  if (out.properties && out.additionalProperties === undefined) out.additionalProperties = false;
  return out;
}

const REQUEST_KEYS = new Set(["method", "url", "baseUrl", "headers", "mediaType", "request", "data"]);

export class GitHubRequestValidator {
  readonly #ajv = new Ajv({ strict: false, validateFormats: false, allErrors: true });
  readonly #compiled = new Map<string, ValidateFunction>();
  /** Every problem found, as "METHOD /path: what"; tests assert it stays empty. */
  readonly errors: string[] = [];
  /** Every request checked, as "METHOD /templated/path". */
  readonly requests: string[] = [];

  check(options: Record<string, unknown>): void {
    const method = String(options.method).toUpperCase();
    let url = String(options.url);
    if (!url.includes("{")) {
      // An expanded URL (pagination follows its own links): find its template, read its query.
      const parsed = new URL(url, "https://api.github.com");
      const path = parsed.pathname.replace(/^\/api\/v3/, "");
      const template = Object.keys(spec.endpoints)
        .filter((k) => k.startsWith(`${method} `))
        .map((k) => k.slice(method.length + 1))
        .find((t) => new RegExp(`^${t.replace(/\{[^}]+\}/g, "[^/]*")}$`).test(path));
      if (template) {
        const pathNames = [...template.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]!);
        options = {
          ...options,
          url: template,
          ...Object.fromEntries(pathNames.map((n) => [n, "(in url)"])),
          ...Object.fromEntries(parsed.searchParams),
        };
        url = template;
      }
    }
    const key = `${method} ${url}`;
    this.requests.push(key);
    const endpoint = spec.endpoints[key];
    const fail = (what: string) => {
      this.errors.push(`${key}: ${what}`);
      throw new Error(`request does not match GitHub's OpenAPI description: ${key}: ${what}`);
    };
    if (key === "POST /graphql") {
      // GraphQL has no OpenAPI description: check the shape (a query document and its variables)
      const {
        query,
        variables: nested,
        ...topLevel
      } = Object.fromEntries(Object.entries(options).filter(([k]) => !REQUEST_KEYS.has(k))) as {
        query?: unknown;
        variables?: Record<string, unknown>;
      };
      const variables = nested ?? topLevel; // @octokit/graphql sends them under `variables`
      if (typeof query !== "string" || !/^\s*(query|mutation)\b/.test(query)) fail("a GraphQL request needs a query or mutation document");
      for (const name of [...String(query).matchAll(/\$(\w+)\s*:/g)].map((m) => m[1]!))
        if (!(name in variables)) fail(`GraphQL variable $${name} is not given`);
      return;
    }
    if (!endpoint) return fail("no such endpoint in the OpenAPI extract (a wrong path, or add it to scripts/extract-github-openapi.mjs)");
    const params = Object.fromEntries(Object.entries(options).filter(([k]) => !REQUEST_KEYS.has(k)));
    const pathNames = endpoint.parameters.filter((p) => p.in === "path").map((p) => p.name);
    for (const name of pathNames) if (params[name] === undefined) fail(`path parameter ${name} is missing`);
    const rest = Object.fromEntries(Object.entries(params).filter(([k]) => !pathNames.includes(k)));
    if (method === "GET" || method === "DELETE" || method === "HEAD") {
      const known = endpoint.parameters.filter((p) => p.in === "query").map((p) => p.name);
      const unknown = Object.keys(rest).filter((k) => !known.includes(k));
      if (unknown.length) fail(`unknown query parameter(s) ${unknown.join(", ")}`);
      return;
    }
    const body = options.data !== undefined ? options.data : rest;
    if (!endpoint.body) {
      if (Object.keys(rest).length) fail(`takes no body, got ${Object.keys(rest).join(", ")}`);
      return;
    }
    let validate = this.#compiled.get(key);
    if (!validate) {
      validate = this.#ajv.compile(closed(endpoint.body) as object);
      this.#compiled.set(key, validate);
    }
    if (!validate(body)) fail(this.#ajv.errorsText(validate.errors));
  }

  /** An Octokit plugin that checks each request before it is sent. */
  plugin = (octokit: { hook: { before(name: "request", fn: (options: Record<string, unknown>) => void): void } }) => {
    octokit.hook.before("request", (options) => this.check(options));
    return {};
  };
}
