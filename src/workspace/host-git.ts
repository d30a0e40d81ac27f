/**
 * Every git command Tollgate runs on the host goes through here. The trees it runs in were
 * written by sandboxed commands and agents, so git is run so that nothing in a tree or a
 * repository's settings can make it start a program: hooks, fsmonitor, external diff and merge
 * drivers, textconv, pagers, editors, askpass, credential helpers, ssh and odd transports are
 * all switched off on the command line (which outranks any file), there is no system or global
 * configuration, and the environment is a minimal one with none of the app's secrets. The
 * installation token travels in the environment of that one git process (`GIT_CONFIG_*`), as
 * an extra header scoped to the remote's host; the only programs git then starts are its own
 * (remote-https, pack-objects, index-pack), since everything else is switched off.
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { simpleGit, type SimpleGit } from "simple-git";

/** `-c` settings that stop git from running anything a tree or a repo's config could name. */
export const HARDENING: string[] = [
  "core.hooksPath=/dev/null",
  "core.fsmonitor=false",
  "core.untrackedCache=false",
  "core.sshCommand=/bin/false",
  "core.gitProxy=",
  "core.askPass=",
  "core.editor=/bin/false",
  "core.pager=cat",
  "core.attributesFile=/dev/null",
  "core.excludesFile=/dev/null",
  "credential.helper=",
  "diff.external=/bin/false", // a diff that forgets --no-ext-diff fails loudly instead of running a planted one
  "sequence.editor=/bin/false",
  "gpg.program=/bin/false",
  "commit.gpgSign=false",
  "tag.gpgSign=false",
  "protocol.allow=never",
  "protocol.https.allow=always",
  "protocol.http.allow=always",
  "protocol.file.allow=always",
  "submodule.recurse=false",
  "diff.ignoreSubmodules=all", // a planted submodule's .git (its config names filters) is never entered
  "status.submoduleSummary=false",
  "gc.auto=0",
  "maintenance.auto=false",
  "uploadpack.packObjectsHook=",
  // the trees may belong to the sandbox's user; git still never runs their programs
  "safe.directory=*",
];

/** What git's environment holds: no secret of the app's, no home, no system config. */
export const GIT_ENV: Record<string, string> = {
  PATH: "/usr/local/bin:/usr/bin:/bin",
  LANG: "C.UTF-8",
  HOME: "/nonexistent",
  XDG_CONFIG_HOME: "/nonexistent",
  GIT_CONFIG_NOSYSTEM: "1",
  GIT_CONFIG_GLOBAL: "/dev/null",
  GIT_TERMINAL_PROMPT: "0",
  GIT_OPTIONAL_LOCKS: "0",
};

/** The token as git's extra header, for the remote's own origin only (never sent elsewhere). */
export function tokenEnv(remoteUrl: string, token: string | undefined): Record<string, string> {
  if (!token) return {};
  let scope = "http";
  try {
    const url = new URL(remoteUrl);
    if (url.protocol === "https:" || url.protocol === "http:") scope = `http.${url.origin}/`;
  } catch {
    // a local path: no header is sent anywhere
    return {};
  }
  const basic = Buffer.from(`x-access-token:${token}`).toString("base64");
  return { GIT_CONFIG_COUNT: "1", GIT_CONFIG_KEY_0: `${scope}.extraheader`, GIT_CONFIG_VALUE_0: `AUTHORIZATION: basic ${basic}` };
}

/** A simple-git for `dir`, hardened; `extraEnv` carries the token when the command needs it. */
export function hostGit(dir: string, extraEnv: Record<string, string> = {}): SimpleGit {
  return simpleGit({
    baseDir: dir,
    config: HARDENING,
    allowEnvironment: Object.keys({ ...GIT_ENV, ...extraEnv }).filter((k) => k.startsWith("GIT_")),
    unsafe: {
      // the settings above switch these off; simple-git asks that setting them at all be explicit
      allowUnsafeHooksPath: true,
      allowUnsafeFsMonitor: true,
      allowUnsafeSshCommand: true,
      allowUnsafeGitProxy: true,
      allowUnsafeAskPass: true,
      allowUnsafeEditor: true,
      allowUnsafePager: true,
      allowUnsafeCredentialHelper: true,
      allowUnsafeDiffExternal: true,
      allowUnsafeGpgProgram: true,
      allowUnsafeProtocolOverride: true,
      allowUnsafePack: true,
      allowUnsafeConfigPaths: true,
      allowUnsafeConfigEnvCount: true,
    },
  }).env({ ...GIT_ENV, ...extraEnv });
}

/**
 * Settings a repository's own `.git/config` may never hold: each names a program, a file to
 * include, or a way around the settings above. Tollgate's clones never write them; finding one
 * means something wrote the config, and no git command runs on that repository again.
 */
const UNSAFE_KEY =
  /^(?:core\.(?:fsmonitor|hookspath|sshcommand|gitproxy|askpass|editor|pager|attributesfile|worktree)|include\.|includeif\.|filter\.|diff\.external|diff\..+\.(?:command|textconv)|merge\..+\.driver|credential\.|alias\.|url\..+\.(?:insteadof|pushinsteadof)|protocol\.|uploadpack\.|remote\..+\.(?:uploadpack|receivepack|vcs)|gpg\.|sequence\.editor|extensions\.worktreeconfig|http\..*(?:extraheader|proxy|sslkey|cookiefile)|lfs\.)/i;

/** The keys of a git config file that name programs or includes (empty when it is safe). */
export function unsafeConfigKeys(text: string): string[] {
  const found: string[] = [];
  let section = "";
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    const header = /^\[\s*([^\s\]"]+)(?:\s+"((?:[^"\\]|\\.)*)")?\s*\]/.exec(line);
    if (header) {
      section = header[2] !== undefined ? `${header[1]!.toLowerCase()}.${header[2]}` : header[1]!.toLowerCase();
      const rest = line.slice(header[0].length).trim();
      if (!rest || rest.startsWith("#") || rest.startsWith(";")) continue;
      const key = `${section}.${rest.split(/[\s=]/)[0]!.toLowerCase()}`;
      if (UNSAFE_KEY.test(key)) found.push(key);
      continue;
    }
    if (!line || line.startsWith("#") || line.startsWith(";")) continue;
    const key = `${section}.${line.split(/[\s=]/)[0]!.toLowerCase()}`;
    if (UNSAFE_KEY.test(key) || UNSAFE_KEY.test(`${section}.`)) found.push(key);
  }
  return found;
}

const run = promisify(execFile);

/**
 * A read-only git command (ls-files, grep) for the agents' tools and the repo map, hardened,
 * with a time limit: a model-supplied pattern cannot keep the host busy.
 */
export async function hostGitOutput(
  dir: string,
  args: string[],
  options: { timeoutMs?: number; maxBuffer?: number } = {},
): Promise<string> {
  const { stdout } = await run("git", [...HARDENING.flatMap((c) => ["-c", c]), ...args], {
    cwd: dir,
    env: GIT_ENV,
    maxBuffer: options.maxBuffer ?? 64 * 1024 * 1024,
    timeout: options.timeoutMs ?? 30_000,
    killSignal: "SIGKILL",
  });
  return stdout;
}
