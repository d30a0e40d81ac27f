/**
 * What may appear in an error message or log line: the installation token and its base64 form
 * (as git's auth header carries it) removed.
 */
export function redactToken(text: string, token: string | undefined): string {
  if (!token) return text;
  const basic = Buffer.from(`x-access-token:${token}`).toString("base64");
  return text.split(token).join("[token]").split(basic).join("[token]");
}
