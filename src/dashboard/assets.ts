/**
 * The dashboard's static files, served by the app itself (no CDN: GitHub Enterprise Server
 * networks often reach nothing else): Pico's stylesheet and Chart.js from their npm packages,
 * and the dashboard's own script and stylesheet. Read once, served with an ETag.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import type { IncomingMessage, ServerResponse } from "node:http";
import { DASHBOARD_DIR } from "./render.js";

const require = createRequire(import.meta.url);

const FILES: Record<string, () => string> = {
  "pico.min.css": () => require.resolve("@picocss/pico/css/pico.min.css"),
  // the package's entry is dist/chart.cjs; its browser build sits beside it
  "chart.umd.min.js": () => path.join(path.dirname(require.resolve("chart.js")), "chart.umd.min.js"),
  "dashboard.css": () => `${DASHBOARD_DIR}assets/dashboard.css`,
  "dashboard.js": () => `${DASHBOARD_DIR}assets/dashboard.js`,
};

interface Asset {
  body: Buffer;
  etag: string;
  type: string;
}

export class Assets {
  readonly #cache = new Map<string, Asset>();

  /** Serves `name` if it is one of the files; false otherwise. */
  serve(name: string, req: IncomingMessage, res: ServerResponse): boolean {
    const locate = Object.hasOwn(FILES, name) ? FILES[name] : undefined;
    if (!locate) return false;
    let asset = this.#cache.get(name);
    if (!asset) {
      const body = readFileSync(locate());
      asset = {
        body,
        etag: `"${createHash("sha256").update(body).digest("base64url").slice(0, 27)}"`,
        type: name.endsWith(".css") ? "text/css; charset=utf-8" : "text/javascript; charset=utf-8",
      };
      this.#cache.set(name, asset);
    }
    const headers = { etag: asset.etag, "cache-control": "public, max-age=3600", "x-content-type-options": "nosniff" };
    if (req.headers["if-none-match"] === asset.etag) res.writeHead(304, headers).end();
    else res.writeHead(200, { ...headers, "content-type": asset.type, "content-length": asset.body.length }).end(asset.body);
    return true;
  }
}
