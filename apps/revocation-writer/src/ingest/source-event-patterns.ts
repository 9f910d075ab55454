import type { EventSourceName } from '@rescind/contracts';
import type { IHeaders } from 'kafkajs';

/**
 * The transport id of the writer's input-topic server (KafkaIngestServer). Handlers decorated
 * with it bind to that server only, never to another transport connected later.
 */
export const KAFKA_INGEST_TRANSPORT = Symbol('rescind-kafka-ingest');

/**
 * `@EventPattern`s of the source events, one per source. They name the source, not the topic:
 * decorators are evaluated when the class is loaded, but topic names come from the configuration
 * at run time (KAFKA_TOPIC_*), so the server maps each configured topic to its source's pattern.
 */
export const SourceEventPatterns = {
  hr: 'rescind.source-event.hr',
  idp: 'rescind.source-event.idp',
  siem: 'rescind.source-event.siem',
} as const satisfies Record<EventSourceName, string>;

/**
 * The payload a source-event handler receives: the Kafka record as read, bytes untouched (no
 * parser in between, so nothing is lost on the way to the dead-letter topic), and when it was
 * first received (kept across retries: the rules' cut-offs do not move while PostgreSQL is down).
 */
export interface SourceEventRecord {
  /** The topic it was read from. */
  topic: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: IHeaders;
  receivedAt: Date;
}
