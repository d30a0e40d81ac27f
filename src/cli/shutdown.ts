import type { Logger } from "pino";

export interface Shutdown {
  /** Adds a step to run on shutdown; steps run in reverse order of adding (last opened, first closed). */
  add(step: () => Promise<void>): void;
}

/**
 * SIGTERM / SIGINT: run the shutdown steps once (stop taking work, let the job in hand finish,
 * close the database), then exit. Registered before anything is opened, so a signal during start
 * still closes what is open. `npm start` forwards the terminal's Ctrl-C as a second SIGINT: a
 * repeat within a second is ignored; a later one exits at once.
 */
export function onShutdown(log: Logger): Shutdown {
  const steps: Array<() => Promise<void>> = [];
  let stoppingSince = 0;
  const handler = (signal: NodeJS.Signals) => {
    if (stoppingSince) {
      if (Date.now() - stoppingSince < 1000) return;
      log.warn({ signal }, "second signal: exiting now");
      process.exit(1);
    }
    stoppingSince = Date.now();
    log.info({ signal }, "shutting down: no new jobs; waiting for the ones in hand");
    (async () => {
      for (const step of [...steps].reverse()) await step();
    })().then(
      () => {
        log.info("stopped");
        process.exit(0);
      },
      (error: unknown) => {
        log.error({ err: error }, "error while stopping");
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", handler);
  process.on("SIGINT", handler);
  return { add: (step) => void steps.push(step) };
}
