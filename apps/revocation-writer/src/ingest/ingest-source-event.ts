import { Inject, Injectable } from '@nestjs/common';
import { type EventSourceName, SOURCE_EVENT_SCHEMAS, type SourceEventV1 } from '@rescind/contracts';
import type { Principal } from '../auth/permissions';
import { WRITER_CONFIG, type WriterConfig } from '../config/config';
import { parseBody } from '../http/validation';
import { RulePolicy } from '../rules/rule-policy';
import { eventSha256 } from './canonical-json';
import { RecordRevocation } from './record-revocation';
import type { RevocationResult } from './revocation-command';
import { mapSourceEvent, redactSourceEvent } from './source-event.mapper';

export interface SourceEventInput {
  source: EventSourceName;
  /** The parsed JSON body or message value. */
  body: unknown;
  principal: Principal;
  receivedAt: Date;
  /** Idempotency key when the transport has its own (webhook-id); else the event's `id`. */
  deliveryId?: string;
  traceContext: Record<string, string>;
}

/**
 * One path for every HR, IdP and SIEM event, whatever carried it (bearer or signed webhook,
 * Kafka topic): validate against the versioned schema, map to rules, record.
 * Throws InvalidEventError (422), UnknownEmployeeError (422), IdempotencyConflictError (409),
 * ForbiddenError (403) or StorageUnavailableError (503, retriable).
 */
@Injectable()
export class IngestSourceEvent {
  constructor(
    private readonly recordRevocation: RecordRevocation,
    private readonly policy: RulePolicy,
    @Inject(WRITER_CONFIG) private readonly config: WriterConfig,
  ) {}

  async execute(input: SourceEventInput): Promise<RevocationResult> {
    const event: SourceEventV1 = parseBody(SOURCE_EVENT_SCHEMAS[input.source], input.body);
    const mapped = mapSourceEvent(input.source, event, {
      receivedAtMs: input.receivedAt.getTime(),
      policy: this.policy,
      employees: this.config.sources.employees,
    });
    return this.recordRevocation.execute({
      source: input.source,
      eventId: input.deliveryId ?? event.id,
      // A leaked token is fingerprinted by its hash: raw tokens are never stored.
      bodySha256: eventSha256(redactSourceEvent(event)),
      principal: input.principal,
      // Event sources are machine principals whose role already bounds what they may revoke
      // (e.g. only the SIEM role may revoke keys); the confirm step is for humans.
      confirmed: true,
      reason: mapped.reason,
      occurredAt: new Date(event.occurredAt),
      receivedAt: input.receivedAt,
      rules: mapped.rules,
      traceContext: input.traceContext,
    });
  }
}
