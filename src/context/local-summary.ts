/**
 * The repo summary the gate reads, for a local repository (`tollgate run`): the top level of the
 * tracked files and the start of the README, as the GitHub adapter gives for a hosted one.
 */
import { readFile } from "node:fs/promises";
import { PathPolicy } from "../agents/tools/path-policy.js";
import { sanitize, truncateToTokens } from "../safety/sanitize.js";
import { hostGitOutput } from "../workspace/host-git.js";

export async function localRepoSummary(dir: string, name: string, branch: string): Promise<string> {
  const stdout = await hostGitOutput(dir, ["ls-files"], { maxBuffer: 256 * 1024 * 1024 });
  const files = stdout.split("\n").filter(Boolean);
  const top = [...new Set(files.map((f) => (f.includes("/") ? `${f.split("/")[0]}/` : f)))].sort();
  const readmeFile = files.find((f) => /^readme(\.\w+)?$/i.test(f));
  // through the path policy: a README that is a symlink out of the repository is not read
  const policy = await PathPolicy.create(dir, []);
  const readme = readmeFile
    ? await policy
        .resolve(readmeFile, "read")
        .then((p) => readFile(p.abs, "utf8"))
        .catch(() => "")
    : "";
  return [
    `${name} (local repository, branch ${branch}), ${files.length} tracked files`,
    `Top level: ${top.slice(0, 60).join(" ") || "empty"}`,
    readme ? `README (start):\n${truncateToTokens(sanitize(readme).text, 500)}` : "README: none",
  ].join("\n");
}
