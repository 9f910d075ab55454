import { Injectable } from '@nestjs/common';
import { type EventSourceName, SOURCE_EVENT_SCHEMAS, type SourceEventV1 } from '@rescind/contracts';
import type { Principal } from '../auth/permissions';
import { InjectConfig, type WriterConfig } from '../config/config';
import { parseBody } from '../http/validation';
import { RulePolicy } from '../write-path/rule-policy';
import { eventSha256 } from './canonical-json';
import type { EventClaim } from '../write-path/processed-events.repository';
import { RecordRevocation } from '../write-path/record-revocation';
import type {
  IdentifiedRevocationCommand,
  RevocationResult,
} from '../write-path/revocation-command';
import { redactSourceEvent } from './credential-redaction';
import { mapSourceEvent } from './source-event.mapper';
import { WebhookDeliveriesRepository } from './webhook-deliveries.repository';
import { WebhookDeliveryGuard } from './webhook-delivery-guard';

export interface SourceEventInput {
  source: EventSourceName;
  /** The parsed JSON body or message value. */
  body: unknown;
  principal: Principal;
  receivedAt: Date;
  /**
   * The Standard Webhooks `webhook-id` of a signed delivery: a replay guard of its own, never
   * the idempotency key (that is the event's `id`, whatever the transport).
   */
  webhookId?: string;
  traceContext: Record<string, string>;
}

/**
 * One path for every HR, IdP and SIEM event, whatever carried it (bearer or signed webhook,
 * Kafka topic): validate against the versioned schema, map to rules, record. The idempotency key
 * is (source, the event's `id`) on every transport, so the same event signed once and sent once
 * over Kafka is applied once. A signed delivery's `webhook-id` is checked in the same
 * transaction, in a namespace of its own: the same id with the same event is a retry (answered
 * as a duplicate event is), with another event a 409 `webhook_replay`.
 * Throws InvalidEventError (422), UnknownEmployeeError (422), IdempotencyConflictError (409),
 * WebhookReplayError (409), ForbiddenError (403) or StorageUnavailableError (503, retriable).
 */
@Injectable()
export class IngestSourceEvent {
  constructor(
    private readonly recordRevocation: RecordRevocation,
    private readonly webhookDeliveries: WebhookDeliveriesRepository,
    private readonly policy: RulePolicy,
    @InjectConfig('sources') private readonly sources: WriterConfig['sources'],
  ) {}

  /** Validates, maps and records one event (sharing a transaction with concurrent ones). */
  async execute(input: SourceEventInput): Promise<RevocationResult> {
    return this.recordRevocation.execute(this.prepare(input));
  }

  /**
   * The command an event is recorded by, without recording it (the Kafka input records a whole
   * fetch at once, a bulk request all its events): validated against the schema and mapped to
   * rules. Throws InvalidEventError or UnknownEmployeeError (422).
   */
  prepare(input: SourceEventInput): IdentifiedRevocationCommand {
    const event: SourceEventV1 = parseBody(SOURCE_EVENT_SCHEMAS[input.source], input.body);
    const mapped = mapSourceEvent(input.source, event, {
      receivedAtMs: input.receivedAt.getTime(),
      policy: this.policy,
      employees: this.sources.employees,
    });
    // A leaked token is fingerprinted by its hash: raw tokens are never stored.
    const bodySha256 = eventSha256(redactSourceEvent(event));
    const command: IdentifiedRevocationCommand & Pick<EventClaim, 'claims'> = {
      source: input.source,
      eventId: event.id,
      bodySha256,
      // Claimed in the revocation's transaction, with the event id (ProcessedEventsRepository).
      claims:
        input.webhookId === undefined
          ? []
          : [
              new WebhookDeliveryGuard(this.webhookDeliveries, {
                source: input.source,
                webhookId: input.webhookId,
                bodySha256,
                receivedAt: input.receivedAt,
              }),
            ],
      principal: input.principal,
      // Event sources are machine principals whose role already bounds what they may revoke
      // (e.g. only the SIEM role may revoke keys); the confirm step is for humans.
      confirmed: true,
      reason: mapped.reason,
      occurredAt: new Date(event.occurredAt),
      receivedAt: input.receivedAt,
      rules: mapped.rules,
      ...(mapped.reinstate !== undefined ? { reinstate: mapped.reinstate } : {}),
      traceContext: input.traceContext,
    };
    return command;
  }
}
