import { createServer, type Server } from "node:http";
import type { NodeHandler } from "../../src/server/body-limit.js";

/** Serves the app's handlers as Probot's server would, on loopback. */
export async function serve(handlers: NodeHandler[]): Promise<{ url: string; server: Server }> {
  const server = createServer(async (req, res) => {
    for (const handle of handlers) if (await handle(req, res)) return;
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, server };
}

/** GETs `path` from the app's handlers, served for the one request; the body parsed as JSON. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function getJson(handlers: NodeHandler[], path: string): Promise<any> {
  const { url, server } = await serve(handlers);
  try {
    return await (await fetch(url + path)).json();
  } finally {
    server.close();
  }
}
