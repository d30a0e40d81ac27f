/**
 * `.github/tollgate.yml`: the repository's settings. Every field is optional and has a default;
 * unknown keys are rejected so that a typo is reported instead of silently ignored. The JSON
 * Schema in `schema/tollgate.schema.json` is generated from this schema (`npm run schema`).
 */
import { z } from "zod";
import { FinalError } from "../errors.js";
import { repoEnvSchema } from "./repo-env.js";

export const TIERS = ["deep", "standard", "light"] as const;

const tier = z.enum(TIERS);
const modelId = z
  .string()
  .trim()
  .min(1)
  .max(200)
  .regex(/^[A-Za-z0-9._:@/-]+$/, "is not a model id");
const argv = z
  .array(z.string().min(1, "an argument may not be empty"))
  .min(1, "a command needs at least the program name")
  .describe("A command as an argv list (program, then its arguments), run without a shell.");
/** Commands in order; absent means "detect them" (src/setup/detect.ts), `[]` means none. */
const commandList = (what: string) => z.array(argv).max(20).optional().describe(what);
const seconds = (fallback: number, what: string) => z.int().min(10).max(3_600).default(fallback).describe(what);
const usd = z.number().positive("must be more than 0").max(10_000, "must be at most 10000");

export const repoConfigSchema = z
  .strictObject({
    trigger: z
      .strictObject({
        label: z
          .string()
          .trim()
          .min(1)
          .max(50, "GitHub labels are at most 50 characters")
          .default("ai-ready")
          .describe("Adding this label to an issue starts a Tollgate run."),
      })
      .prefault({})
      .describe("What starts a run."),
    tiers: z
      .strictObject({
        deep: modelId.default("claude-opus-5-5").describe("Model for the tier used where quality pays most (gate, plan)."),
        standard: modelId.default("claude-sonnet-5-5").describe("Model for execution and review."),
        light: modelId.default("claude-haiku-5-5").describe("Model for verification triage and small checks."),
      })
      .prefault({})
      .describe("The model id of each tier."),
    fallbacks: z
      .strictObject({
        deep: z.array(modelId).max(3).default([]),
        standard: z.array(modelId).max(3).default([]),
        light: z.array(modelId).max(3).default([]),
      })
      .prefault({})
      .describe("Models of the same tier to switch to, in order, when a tier's model stays overloaded."),
    phases: z
      .strictObject({
        gate: tier.default("deep"),
        plan: tier.default("deep"),
        execute: tier.default("standard"),
        review: tier.default("standard"),
        verify: tier.default("light"),
      })
      .prefault({})
      .describe("The tier each phase runs on."),
    budget: z
      .strictObject({
        run_usd: usd
          .default(5)
          .describe("A run stops at the next model call that could pass this many dollars (at most the operator's TOLLGATE_RUN_USD_MAX)."),
        daily_usd: usd
          .optional()
          .describe(
            "Lowers the installation's daily spend cap (per UTC day) for this repository's runs; the operator's cap (TOLLGATE_DAILY_USD, or `tollgate caps`) is the most it can be.",
          ),
        phase_usd: z
          .strictObject({
            gate: usd.optional(),
            plan: usd.optional(),
            execute: usd.optional(),
            verify: usd.optional(),
            review: usd.optional(),
          })
          .default({})
          .describe("Optional caps per phase of a run."),
      })
      .prefault({})
      .describe("Spending caps in US dollars."),
    loop: z
      .strictObject({
        max_iterations: z.int().min(1).max(10).default(3).describe("Execute → verify → review rounds at most."),
      })
      .prefault({})
      .describe("The execute / verify / review loop."),
    concurrency: z.int().min(1).max(8).default(2).describe("Execution agents that run at once."),
    revise: z
      .strictObject({
        quiet_seconds: z.int().min(0).max(3_600).default(60).describe("A revision starts once the PR's reviews have been quiet this long."),
      })
      .prefault({})
      .describe("Revisions started by reviews on Tollgate's pull requests."),
    setup: z
      .strictObject({
        commands: commandList(
          "Run in order after the clone and before the plan, with the network on and no secret, to install what the checks need. Without it, Tollgate detects the install from the repository's lockfile; [] means no setup.",
        ),
        timeout_seconds: seconds(900, "Each setup command is killed after this many seconds."),
      })
      .prefault({})
      .describe("How Tollgate prepares a checkout (installs dependencies) before the agents work."),
    verify: z
      .strictObject({
        commands: commandList(
          "Run in order after each execution round; all must pass. Without it, Tollgate detects the repository's test command; [] means no checks.",
        ),
        timeout_seconds: seconds(600, "Each verify command is killed after this many seconds."),
      })
      .prefault({})
      .describe("How Tollgate checks a change."),
    env: repoEnvSchema,
    toolchain: z
      .strictObject({
        node: z
          .string()
          .trim()
          .min(1)
          .max(60)
          .regex(/^[\w.*^~<>=| /-]+$/, "a Node version, alias or range (`22`, `22.12.0`, `lts/*`, `>=20 <23`)")
          .optional()
          .describe(
            "The Node.js version setup, the checks and the agents' commands run on: an exact version, a major (`22`), an alias (`lts/*`) or a range (the newest release it allows). Wins over `.nvmrc`, `.node-version`, `.tool-versions`, `volta.node`, `devEngines.runtime` and `engines.node`. Tollgate provides it from the npm registry's Node packages (the majors the operator offers).",
          ),
      })
      .prefault({})
      .describe("The toolchain the repository's commands run on."),
    commands: z
      .strictObject({
        allow: z.array(argv).max(50).default([]).describe("Argv prefixes the agents may run."),
      })
      .prefault({})
      .describe("What the agents may run."),
    paths: z
      .strictObject({
        protected: z
          .array(z.string().min(1))
          .max(100)
          .default([])
          .describe("Glob patterns no run may change, added to the built-in ones (.github/workflows/** and .git), which always hold."),
      })
      .prefault({})
      .describe("Path policy."),
  })
  .describe("Tollgate repository configuration (.github/tollgate.yml)");

export type RepoConfig = z.output<typeof repoConfigSchema>;
export type RepoConfigInput = z.input<typeof repoConfigSchema>;
export type Tier = (typeof TIERS)[number];
/** The phases that call a model, each on a tier (`phases:`); src/phases/registry.ts names the same ones. */
export type ModelPhase = keyof RepoConfig["phases"];

export const REPO_CONFIG_PATH = ".github/tollgate.yml";

/** A problem in `.github/tollgate.yml`, said so that a person can fix it. */
export class RepoConfigError extends FinalError {
  override name = "RepoConfigError";
  constructor(
    /** Each problem as "`key.path`: reason". */
    readonly problems: string[],
    readonly file = REPO_CONFIG_PATH,
  ) {
    super(`${file} is invalid: ${problems.join("; ")}`);
  }
}

/** Validates parsed YAML (or `undefined` for no file) and applies the defaults. */
export function parseRepoConfig(raw: unknown, file = REPO_CONFIG_PATH): RepoConfig {
  const result = repoConfigSchema.safeParse(raw ?? {});
  if (result.success) return result.data;
  throw new RepoConfigError(result.error.issues.map(describeIssue), file);
}

function describeIssue(issue: z.core.$ZodIssue): string {
  const at = issue.path.map(String).join(".");
  if (issue.code === "unrecognized_keys") {
    return issue.keys.map((k) => `\`${at ? `${at}.` : ""}${k}\`: unknown key`).join("; ");
  }
  // a record's key (a name in `env`): what is wrong with the key, not zod's "Invalid key in record"
  if (issue.code === "invalid_key") return `\`${at}\`: ${issue.issues.map((i) => i.message).join("; ")}`;
  return `\`${at || "(top level)"}\`: ${issue.message}`;
}

export function repoConfigJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(repoConfigSchema, { io: "input", target: "draft-2020-12" }) as Record<string, unknown>;
}
