import { type TopicRole, type TopicSpec, topicSpecs } from '@rescind/contracts';
import { type IHeaders, Kafka, type KafkaMessage, logLevel } from 'kafkajs';
import { randomBytes, randomUUID } from 'node:crypto';
import { ensureTopics } from '../../apps/revocation-writer/src/topics/ensure-topics';
import { KafkaBroker } from '../../tools/kafka/broker';

/** The run's shared broker (jest global setup). */
export const sharedBrokers = (): string[] => process.env.RESCIND_TEST_KAFKA_BROKERS!.split(',');

/** `specs` with `partitions` each (none given: as specified); the dead-letter topic keeps its one. */
function withPartitions(specs: TopicSpec[], partitions: number | undefined): TopicSpec[] {
  return specs.map((spec) =>
    partitions !== undefined && spec.role !== 'deadLetter' ? { ...spec, partitions } : spec,
  );
}

/** Topic names of one test file on the shared broker, and how to hand them to writer and consumer. */
export interface TestTopics {
  names: Record<TopicRole, string>;
  /** Environment for startWriter: every topic the writer reads or writes. */
  writerEnv: Record<string, string>;
  /** Creates the topics (default: on the shared broker) with the real specs. */
  create(brokers?: string[]): Promise<void>;
}

/**
 * The project's topics under names of the test file's own (`<prefix>.<role>.<random>`), with the
 * real specs, created through the writer's `ensureTopics` by `create()`. A test file isolates
 * itself this way instead of starting a broker. Names are known at once (usable in `describe`).
 */
export function testTopics(
  prefix: string,
  options: { partitions?: number; overrides?: Parameters<typeof topicSpecs>[1] } = {},
): TestTopics {
  const suffix = randomBytes(4).toString('hex');
  const roles: TopicRole[] = ['invalidations', 'deadLetter', 'hrEvents', 'idpEvents', 'siemEvents'];
  const names = Object.fromEntries(roles.map((r) => [r, `${prefix}.${r}.${suffix}`])) as Record<
    TopicRole,
    string
  >;
  const specs = withPartitions(topicSpecs(names, options.overrides), options.partitions);
  return {
    names,
    writerEnv: {
      KAFKA_INVALIDATION_TOPIC: names.invalidations,
      KAFKA_DLQ_TOPIC: names.deadLetter,
      KAFKA_TOPIC_HR_EVENTS: names.hrEvents,
      KAFKA_TOPIC_IDP_EVENTS: names.idpEvents,
      KAFKA_TOPIC_SIEM_EVENTS: names.siemEvents,
    },
    async create(brokers = sharedBrokers()) {
      const admin = new Kafka({
        brokers,
        clientId: 'test-topics',
        logLevel: logLevel.NOTHING,
      }).admin();
      await admin.connect();
      try {
        await ensureTopics(admin, specs);
      } finally {
        await admin.disconnect();
      }
    },
  };
}

/** {@link testTopics}, created at once on `brokers` (default: the shared broker). */
export async function createTestTopics(
  prefix: string,
  options: Parameters<typeof testTopics>[1] & { brokers?: string[] } = {},
): Promise<TestTopics> {
  const topics = testTopics(prefix, options);
  await topics.create(options.brokers);
  return topics;
}

export interface ReceivedMessage {
  partition: number;
  key: string | null;
  value: unknown;
  headers: Record<string, string>;
}

function headersOf(headers: IHeaders | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (value !== undefined) {
      out[name] = Array.isArray(value) ? value.map(String).join(',') : value.toString();
    }
  }
  return out;
}

/** The JSON value, or the raw text when it is not JSON (dead letters keep malformed bytes). */
function parseOrRaw(value: Buffer | null): unknown {
  const text = value?.toString() ?? 'null';
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/**
 * Reads a topic from the beginning into an array, as a plain Kafka client would, each record as
 * `read` makes it.
 */
async function readTopic<T>(
  brokers: string[],
  topic: string,
  read: (partition: number, message: KafkaMessage) => T,
) {
  const kafka = new Kafka({ brokers, clientId: 'test-reader', logLevel: logLevel.NOTHING });
  let stopped = false;
  const consumer = kafka.consumer({
    groupId: `test-reader-${randomUUID()}`,
    sessionTimeout: 6000,
    heartbeatInterval: 500,
    maxWaitTimeInMs: 50,
    // kafkajs may schedule a restart of a crashed consumer after stop(); it would then keep the
    // test process alive.
    retry: { restartOnFailure: () => Promise.resolve(!stopped) },
  });
  const messages: T[] = [];
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: ({ partition, message }: { partition: number; message: KafkaMessage }) => {
      messages.push(read(partition, message));
      return Promise.resolve();
    },
  });
  return {
    messages,
    stop: () => {
      stopped = true;
      return consumer.disconnect();
    },
  };
}

/** Reads a topic from the beginning into an array of decoded records. */
export function collectTopic(brokers: string[], topic: string) {
  return readTopic(brokers, topic, (partition, message): ReceivedMessage => ({
    partition,
    key: message.key?.toString() ?? null,
    value: parseOrRaw(message.value),
    headers: headersOf(message.headers),
  }));
}

/**
 * A broker of the test's own, for tests that kill, pause or cut it off: a TCP proxy in front
 * (advertised, so clients really go through it) and the project's topics, `partitions` each
 * (the dead-letter topic keeps its one).
 */
export function startOwnBroker(partitions = 3): Promise<KafkaBroker> {
  return KafkaBroker.start({
    proxy: true,
    topics: withPartitions(topicSpecs(), partitions),
  });
}

/** A record as read, bytes untouched: for asserting on what is (not) in a message at all. */
export interface RawMessage {
  partition: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: Array<{ name: string; value: Buffer }>;
}

/** Reads a topic from the beginning into an array of raw records ({@link collectTopic}, undecoded). */
export function collectRawTopic(brokers: string[], topic: string) {
  return readTopic(brokers, topic, (partition, message): RawMessage => ({
    partition,
    key: message.key,
    value: message.value,
    headers: Object.entries(message.headers ?? {}).flatMap(([name, value]) =>
      value === undefined ? [] : [value].flat().map((v) => ({ name, value: Buffer.from(v) })),
    ),
  }));
}
