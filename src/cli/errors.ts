/** A problem the person at the terminal can fix; printed as one line, exit code 1. */
import { FinalError } from "../errors.js";
export class CliError extends FinalError {
  override name = "CliError";
}
