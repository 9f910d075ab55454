import { type IHeaders, Kafka, type KafkaMessage, logLevel } from 'kafkajs';
import { randomUUID } from 'node:crypto';

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

/** Reads a topic from the beginning into an array, as a plain Kafka client would. */
export async function collectTopic(brokers: string[], topic: string) {
  const kafka = new Kafka({ brokers, clientId: 'test-reader', logLevel: logLevel.NOTHING });
  const consumer = kafka.consumer({
    groupId: `test-reader-${randomUUID()}`,
    sessionTimeout: 6000,
    heartbeatInterval: 500,
    maxWaitTimeInMs: 50,
  });
  const messages: ReceivedMessage[] = [];
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: ({ partition, message }: { partition: number; message: KafkaMessage }) => {
      messages.push({
        partition,
        key: message.key?.toString() ?? null,
        value: parseOrRaw(message.value),
        headers: headersOf(message.headers),
      });
      return Promise.resolve();
    },
  });
  return { messages, stop: () => consumer.disconnect() };
}
