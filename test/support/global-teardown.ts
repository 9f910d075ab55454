export default async function globalTeardown(): Promise<void> {
  await globalThis.__RESCIND_KAFKA_BROKER__?.stop();
  globalThis.__RESCIND_KAFKA_BROKER__ = undefined;
}
