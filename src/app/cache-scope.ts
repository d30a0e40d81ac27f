/**
 * The dependency cache's scope for a local run (`tollgate run`, `tollgate eval`): the
 * repository's folder name, for a reader of the cache folder, and a hash of its absolute path,
 * so two different repositories with the same folder name (`~/work/app` and `~/tmp/app`, or every
 * eval attempt's `repo`) never share an entry. An entry is written by the repository's install
 * scripts, so it is trusted no further than that one repository.
 */
import { createHash } from "node:crypto";
import path from "node:path";

export function localCacheRepository(repo: string): string {
  const absolute = path.resolve(repo);
  const hash = createHash("sha256").update(absolute).digest("hex").slice(0, 12);
  return `local/${path.basename(absolute)}-${hash}`;
}
