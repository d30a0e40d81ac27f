export default async function globalTeardown(): Promise<void> {
  (globalThis as { __tollgatePg?: { stop(): void } }).__tollgatePg?.stop();
}
