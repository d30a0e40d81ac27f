/**
 * The installation token reaches git only as a per-command header (`-c http.extraheader=…`),
 * never in a remote URL or `.git/config`, where it would be stored and show in errors.
 */
export function authConfig(token: string | undefined): string[] {
  if (!token) return [];
  const basic = Buffer.from(`x-access-token:${token}`).toString("base64");
  return ["-c", `http.extraheader=AUTHORIZATION: basic ${basic}`];
}

/** What may appear in an error message or log line: the token and its base64 form removed. */
export function redactToken(text: string, token: string | undefined): string {
  if (!token) return text;
  const basic = Buffer.from(`x-access-token:${token}`).toString("base64");
  return text.split(token).join("[token]").split(basic).join("[token]");
}
