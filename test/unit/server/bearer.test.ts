/**
 * The operator token's one check, which `/metrics` and the dashboard both use: exactly
 * `Bearer <token>`, compared whole, and nothing when no token is configured.
 */
import { bearerMatches, sameSecret } from "../../../src/server/bearer.js";

const TOKEN = "0123456789abcdef0123456789abcdef-operator";

describe("bearerMatches", () => {
  it("takes spaces or tabs around the credentials, not other whitespace", () => {
    expect(bearerMatches(`Bearer \t${TOKEN}\t `, TOKEN)).toBe(true);
    expect(bearerMatches(`BEARER ${TOKEN}`, TOKEN)).toBe(true);
    expect(bearerMatches(`Bearer\u00a0${TOKEN}`, TOKEN)).toBe(false);
    expect(bearerMatches(`Bearer ${TOKEN} extra`, TOKEN)).toBe(false);
    expect(bearerMatches(`Bearer${TOKEN}`, TOKEN)).toBe(false);
  });

  it("matches nothing when no token is configured", () => {
    expect(bearerMatches(`Bearer ${TOKEN}`, undefined)).toBe(false);
    expect(bearerMatches("Bearer ", undefined)).toBe(false);
    expect(bearerMatches(undefined, undefined)).toBe(false);
  });
});

describe("sameSecret", () => {
  it("is string equality, whatever the lengths", () => {
    expect(sameSecret(TOKEN, TOKEN)).toBe(true);
    expect(sameSecret(TOKEN, `${TOKEN}x`)).toBe(false);
    expect(sameSecret("", "")).toBe(true);
    expect(sameSecret("a", "")).toBe(false);
  });
});
