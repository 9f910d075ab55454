/** Stops the shared broker once the last project that uses it is done. */
export default async function globalTeardown(): Promise<void> {
  const shared = globalThis.__RESCIND_KAFKA_BROKER__;
  if (!shared) {
    return;
  }
  shared.users -= 1;
  if (shared.users === 0) {
    globalThis.__RESCIND_KAFKA_BROKER__ = undefined;
    await shared.broker.stop();
  }
}
