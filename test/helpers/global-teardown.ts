/**
 * Runs once after all test files: stops the PostgreSQL server the tests started, if they started
 * one, and removes the run's folder (see global-setup.ts, which hands over the function: Jest
 * loads this file outside the module mapper too, so it cannot import it).
 */
export default async function globalTeardown(): Promise<void> {
  await (globalThis as { __tollgateTestRunEnd?: () => void }).__tollgateTestRunEnd?.();
}
