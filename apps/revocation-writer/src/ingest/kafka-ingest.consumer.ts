import { Controller, UseFilters } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import {
  type EventSourceName,
  SOURCE_EVENT_SCHEMA_VERSION,
  SourceEventHeaders,
} from '@rescind/contracts';
import type { IHeaders } from 'kafkajs';
import { RescindError } from '../errors';
import type { IdentifiedRevocationCommand } from '../write-path/revocation-command';
import { IngestSourceEvent } from './ingest-source-event';
import { RethrowToTransport } from './rethrow-to-transport.filter';
import {
  KAFKA_INGEST_TRANSPORT,
  type SourceEventRecord,
  SourceEventPatterns,
} from './source-event-patterns';

function headerText(headers: IHeaders, name: string): string | undefined {
  const value = headers[name];
  const first = Array.isArray(value) ? value[0] : value;
  return first === undefined ? undefined : first.toString();
}

/**
 * The HR, IdP and SIEM input topics: each record goes through the same use case as the webhooks.
 * This class only parses: each handler answers the record's revocation command
 * (`IngestSourceEvent.prepare`), and KafkaIngestServer records the commands of a fetch together,
 * acknowledges (commits the offset after the transaction), retries what is retriable and
 * dead-letters what can never be processed, so every error leaves here as thrown
 * (RethrowToTransport).
 */
@Controller()
@UseFilters(RethrowToTransport)
export class KafkaIngestConsumer {
  constructor(private readonly ingest: IngestSourceEvent) {}

  @EventPattern(SourceEventPatterns.hr, KAFKA_INGEST_TRANSPORT)
  hrEvent(@Payload() record: SourceEventRecord): IdentifiedRevocationCommand {
    return this.consume('hr', record);
  }

  @EventPattern(SourceEventPatterns.idp, KAFKA_INGEST_TRANSPORT)
  idpEvent(@Payload() record: SourceEventRecord): IdentifiedRevocationCommand {
    return this.consume('idp', record);
  }

  @EventPattern(SourceEventPatterns.siem, KAFKA_INGEST_TRANSPORT)
  siemEvent(@Payload() record: SourceEventRecord): IdentifiedRevocationCommand {
    return this.consume('siem', record);
  }

  private consume(source: EventSourceName, record: SourceEventRecord): IdentifiedRevocationCommand {
    const version = headerText(record.headers, SourceEventHeaders.schemaVersion);
    if (version !== undefined && version !== SOURCE_EVENT_SCHEMA_VERSION) {
      // Echoed only when it reads like a version: the message goes to logs and dead letters.
      const named = /^v?[0-9][0-9.]{0,7}$/.test(version) ? ` "${version}"` : '';
      throw new RescindError(
        'unsupported_schema_version',
        `schema version${named} is not supported (expected "${SOURCE_EVENT_SCHEMA_VERSION}")`,
      );
    }
    let body: unknown;
    try {
      body = JSON.parse(record.value?.toString('utf8') ?? '');
    } catch {
      throw new RescindError('malformed_json', 'the message value is not JSON');
    }
    const traceContext: Record<string, string> = {};
    for (const name of ['traceparent', 'tracestate']) {
      const text = headerText(record.headers, name);
      if (text !== undefined) {
        traceContext[name] = text;
      }
    }
    return this.ingest.prepare({
      source,
      body,
      principal: { id: `kafka:${source}`, name: `${source} input topic`, role: source },
      receivedAt: record.receivedAt,
      traceContext,
    });
  }
}
