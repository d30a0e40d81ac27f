import deepmerge from "deepmerge";
import { parseRepoConfig, REPO_CONFIG_PATH, RepoConfigError, type RepoConfig } from "./repo-config.js";

/** The slice of Probot's Octokit (its config plugin) this loader needs. */
export interface ConfigReader {
  config: {
    get(options: {
      owner: string;
      repo: string;
      path: string;
      defaults?: (configs: Record<string, unknown>[]) => Record<string, unknown>;
    }): Promise<{ config: Record<string, unknown>; files: { owner: string; repo: string; config: unknown }[] }>;
  };
}

export interface LoadedRepoConfig {
  config: RepoConfig;
  /** Where the settings came from, as owner/repo (the repo itself, or an org `.github` repo). */
  sources: string[];
}

/**
 * Reads `.github/tollgate.yml` through Probot's config plugin, so an org's `.github` repository
 * can hold the defaults and `_extends` works; later files override earlier ones key by key
 * (lists are replaced, not concatenated). Throws `RepoConfigError` naming the bad key.
 */
export async function loadRepoConfig(octokit: ConfigReader, owner: string, repo: string): Promise<LoadedRepoConfig> {
  let result;
  try {
    result = await octokit.config.get({
      owner,
      repo,
      path: REPO_CONFIG_PATH,
      defaults: (configs) =>
        deepmerge.all([{}, ...configs], { arrayMerge: (_target, source: unknown[]) => source }) as Record<string, unknown>,
    });
  } catch (error) {
    const message = (error as Error).message.replace(/^\[@probot\/octokit-plugin-config\]\s*/, "");
    if (/could not be parsed|invalid value .* for _extends|is not an object/i.test(message)) {
      const cause = (error as Error).cause instanceof Error ? `: ${firstLine(((error as Error).cause as Error).message)}` : "";
      throw new RepoConfigError([`${message}${cause}`]);
    }
    throw error; // network or permission trouble: not the user's file
  }
  const sources = result.files.filter((f) => f.config).map((f) => `${f.owner}/${f.repo}`);
  return { config: parseRepoConfig(result.config), sources };
}

function firstLine(s: string): string {
  return s.split("\n")[0] ?? s;
}
