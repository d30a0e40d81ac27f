/**
 * The setup step as people read it: one or two lines in the sticky comment, a section of the
 * pull request's body. Commands and notes come from the repository (its config, or what was
 * detected in its files), so they are shown as code or quoted text; the whole comment or body is
 * neutralised once more by its renderer.
 */
import { fenced } from "../safety/fenced.js";
import { maskSecrets } from "../safety/secrets.js";
import type { SetupOutput } from "../setup/setup.js";
import { formatDuration } from "./cost-table.js";

const code = (argv: string[]) => `\`${argv.join(" ").replace(/`/g, "'")}\``;

function mib(bytes: number): string {
  return bytes >= 1024 ** 3 ? `${(bytes / 1024 ** 3).toFixed(1)} GiB` : `${Math.max(1, Math.round(bytes / 1024 ** 2))} MiB`;
}

/** "cache hit (45 MiB)", "cache miss", "no cache: no lockfile to key a cache by". */
export function cacheLine(cache: SetupOutput["cache"]): string {
  if (cache.state === "off") return `no cache${cache.why ? `: ${cache.why}` : ""}`;
  const size = cache.bytes ? ` (${mib(cache.bytes)})` : "";
  return `cache ${cache.state}${size}${cache.why ? `: ${cache.why}` : ""}`;
}

/** Whether the install had the way out, and why: "Network: off (…)". */
export function networkLine(network: NonNullable<SetupOutput["network"]>): string {
  return `Network: ${network.mode === "online" ? "**on**" : "off"}, because ${network.why}.`;
}

/** Where verify's commands come from, as one sentence. */
export function verifyLine(setup: SetupOutput): string {
  if (setup.verifySource === "none") return "Checks: nothing to run (no `verify.commands`, and none detected).";
  return `Checks: ${setup.verify.map(code).join(", ")} (${setup.verifySource}).`;
}

/** The sticky comment's lines: what setup ran, its time and cache, the checks, and a Node mismatch. */
export function setupProgressLines(setup: SetupOutput): string[] {
  const lines: string[] = [];
  if (setup.notRun) lines.push(`Setup: not run (${setup.notRun}).`);
  else if (!setup.commands.length)
    lines.push(`Setup: nothing to install${setup.source === "none" ? " (none configured or detected)" : ""}.`);
  else {
    const what = setup.commands.map((c) => code(c.argv)).join(", ");
    lines.push(
      `Setup (${setup.source}): ${what} in ${formatDuration(setup.durationMs)}, ${cacheLine(setup.cache)}, network ${setup.network?.mode === "online" ? "on" : "off"}.`,
    );
  }
  lines.push(verifyLine(setup));
  if (setup.node?.satisfied === false) lines.push("", "> [!WARNING]", `> ${setup.node.line}`);
  return lines;
}

/** A variable's value as shown: masked, on one line, at most 80 characters. */
function shownValue(value: string): string {
  const one = maskSecrets(value).replace(/\s+/g, " ");
  return one.length > 80 ? `${one.slice(0, 79)}…` : one;
}

/**
 * What the commands had that a GitHub-hosted runner's step would not: the repository's `env:`
 * (names and masked values), and Tollgate's own in one line (src/sandbox/process.ts,
 * src/setup/environment.ts). A reader who sees a check fail here and pass in CI starts here.
 */
export function environmentLines(repoEnv: Record<string, string> = {}): string[] {
  const names = Object.keys(repoEnv).sort();
  const lines = [
    "Environment: what a GitHub-hosted runner gives a step (`CI=true`, `LANG=C.UTF-8`; Tollgate sets no `NO_COLOR`, `TERM` or `FORCE_COLOR`), and also:",
    "",
  ];
  if (names.length) {
    const shown = names.slice(0, 30).map((n) => code([`${n}=${shownValue(repoEnv[n]!)}`]));
    const more = names.length > 30 ? `, and ${names.length - 30} more` : "";
    lines.push(`- from \`env:\` in .github/tollgate.yml: ${shown.join(", ")}${more};`);
  }
  const tz = "TZ" in repoEnv ? "" : "`TZ=UTC` (a runner's clock), ";
  lines.push(
    `- from Tollgate: ${tz}\`HOME=/tmp\` (the sandbox's own), the package managers' caches in Tollgate's folders (\`npm_config_cache\`, \`PIP_CACHE_DIR\`, \`GOMODCACHE\`, …) with its shims first on \`PATH\`, the egress proxy for setup's downloads (\`HTTPS_PROXY\`), and the offline switches wherever a command has no network (\`npm_config_offline=true\`, \`PIP_NO_INDEX=1\`, \`GOPROXY=off\`, …).`,
  );
  return lines;
}

/** The PR body's "Setup" section; `repoEnv` is the repository's `env:`. */
export function setupSection(setup: SetupOutput, repoEnv: Record<string, string> = {}): string[] {
  const lines = ["## Setup", ""];
  if (setup.notRun) lines.push(`Not run: ${setup.notRun}.`);
  else if (!setup.commands.length) lines.push("Nothing to install: no `setup.commands` are configured and none were detected.");
  else {
    lines.push(`${setup.source === "configured" ? "Configured" : "Detected"} setup, ${cacheLine(setup.cache)}:`, "");
    lines.push("| Command | Result | Time |", "|---|---|---:|");
    for (const c of setup.commands) {
      const result = c.exitCode === 0 && !c.timedOut ? "✅" : c.timedOut ? "❌ timed out" : `❌ exit ${c.exitCode ?? "none"}`;
      lines.push(
        `| ${code(c.argv).replace(/\|/g, "\\|")}${c.onBase ? " (on the default branch's commit)" : ""} | ${result}${c.offline ? " (network off)" : ""} | ${formatDuration(c.durationMs)} |`,
      );
    }
  }
  if (setup.network) lines.push("", networkLine(setup.network));
  if (setup.toolchain) lines.push("", `Node: ${setup.toolchain.why}.`);
  lines.push("", verifyLine(setup), "", ...environmentLines(repoEnv));
  if (setup.node) lines.push("", setup.node.satisfied === false ? `> [!WARNING]\n> ${setup.node.line}` : setup.node.line);
  if (setup.reverted.length)
    lines.push(
      "",
      `Setup changed tracked files, which were put back: ${setup.reverted
        .slice(0, 10)
        .map((f) => code([f]))
        .join(", ")}.`,
    );
  const details = [...setup.notes.map((n) => `- ${n}`)];
  if (setup.installed.length)
    details.push(
      `- Installed in the checkout (never committed): ${setup.installed
        .slice(0, 20)
        .map((f) => code([f]))
        .join(", ")}.`,
    );
  if (details.length || setup.tail) {
    lines.push("", "<details><summary>What Tollgate detected, and setup's last lines</summary>", "", ...details);
    if (setup.tail) lines.push("", ...fenced(setup.tail));
    lines.push("", "</details>");
  }
  return [...lines, ""];
}
