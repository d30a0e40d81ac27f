/**
 * The repo summary the gate reads, for a local repository (`tollgate run`): the top level of the
 * tracked files and the start of the README, as the GitHub adapter gives for a hosted one.
 */
import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import { sanitize, truncateToTokens } from "../github/sanitize.js";

const run = promisify(execFile);

export async function localRepoSummary(dir: string, name: string, branch: string): Promise<string> {
  const { stdout } = await run("git", ["ls-files"], { cwd: dir, maxBuffer: 256 * 1024 * 1024 });
  const files = stdout.split("\n").filter(Boolean);
  const top = [...new Set(files.map((f) => (f.includes("/") ? `${f.split("/")[0]}/` : f)))].sort();
  const readmeFile = files.find((f) => /^readme(\.\w+)?$/i.test(f));
  const readme = readmeFile ? await readFile(path.join(dir, readmeFile), "utf8").catch(() => "") : "";
  return [
    `${name} (local repository, branch ${branch}), ${files.length} tracked files`,
    `Top level: ${top.slice(0, 60).join(" ") || "empty"}`,
    readme ? `README (start):\n${truncateToTokens(sanitize(readme).text, 500)}` : "README: none",
  ].join("\n");
}
