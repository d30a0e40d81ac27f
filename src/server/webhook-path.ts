import type { IncomingMessage } from "node:http";

/**
 * Whether a request is a POST to the webhook path, compared as `@octokit/webhooks` compares it
 * (the pathname, trailing slashes aside). An unparseable URL is not: the webhook handler answers it.
 */
export function webhookPost(path: string): (req: IncomingMessage) => boolean {
  const webhookPath = withoutTrailingSlashes(path);
  return (req) => req.method === "POST" && pathname(req.url) === webhookPath;
}

function pathname(url: string | undefined): string | undefined {
  try {
    return new URL(withoutTrailingSlashes(url ?? ""), "http://localhost").pathname;
  } catch {
    return undefined;
  }
}

function withoutTrailingSlashes(path: string): string {
  return path.replace(/\/+$/, "") || "/";
}
