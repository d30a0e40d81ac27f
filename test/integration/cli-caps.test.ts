/**
 * `tollgate caps`: the operator's spending caps, in a child process on the embedded database,
 * as an operator types them.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { tollgate } from "../helpers/cli.js";

describe("tollgate caps", () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), "tollgate-caps-"));
  const env = { TOLLGATE_DATA_DIR: dataDir, TOLLGATE_DAILY_USD: "40", TOLLGATE_RUN_USD_MAX: "8", LOG_LEVEL: "warn" };
  const run = async (...args: string[]) => {
    const child = tollgate(["caps", ...args], env);
    return { code: await child.exit, out: child.stdout(), err: child.stderr() };
  };

  it("lists the defaults, sets one installation's caps, returns it to the defaults, and refuses bad input", async () => {
    expect(await run()).toMatchObject({
      code: 0,
      out: "default: $40.00 per installation per UTC day (TOLLGATE_DAILY_USD), $8.00 per run (TOLLGATE_RUN_USD_MAX)\n",
    });
    const set = await run("--installation", "9", "--daily", "100");
    expect(set.code).toBe(0);
    expect(set.out).toContain("installation 9: $100.00 per UTC day, default per run");
    expect((await run("--installation", "9", "--run", "12.50")).out).toContain("installation 9: $100.00 per UTC day, $12.50 per run");
    expect((await run("--installation", "9", "--daily", "default", "--run", "default")).out).not.toContain("installation 9");
    expect(await run("--installation", "9", "--daily", "-5")).toMatchObject({
      code: 1,
      err: 'tollgate: --daily "-5" is not a positive number of dollars (or "default")\n',
    });
    expect(await run("--daily", "5")).toMatchObject({ code: 1, err: "tollgate: --daily and --run need --installation <id>\n" });
  });

  it("refuses a bad operator cap in the environment with one line", async () => {
    const child = tollgate(["caps"], { ...env, TOLLGATE_DAILY_USD: "lots" });
    expect(await child.exit).toBe(1);
    expect(child.stderr()).toBe("tollgate: TOLLGATE_DAILY_USD must be a positive number of dollars, e.g. 50 or 12.50\n");
  });
});
