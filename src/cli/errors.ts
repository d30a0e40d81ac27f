/** A problem the person at the terminal can fix; printed as one line, exit code 1. */
export class CliError extends Error {
  override name = "CliError";
}
