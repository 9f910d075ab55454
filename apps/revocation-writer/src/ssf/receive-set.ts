import { Injectable } from '@nestjs/common';
import { InjectConfig, type WriterConfig } from '../config/config';
import { IdempotencyConflictError, RescindError } from '../errors';
import { eventSha256 } from '../ingest/canonical-json';
import { RecordRevocation } from '../write-path/record-revocation';
import { RulePolicy } from '../write-path/rule-policy';
import { mapSecurityEvents } from './set-event.mapper';
import { SetRejectedError, SetVerifier, type VerifiedSet } from './set-verifier';

/** What the transport knows about a SET that the token itself does not say. */
export interface SetDelivery {
  receivedAt: Date;
  /** W3C trace context of the delivery, carried through the outbox. */
  traceContext: Record<string, string>;
  /**
   * Poll only: the transmitter that was polled and the `jti` it delivered the SET under. The SET
   * must be that transmitter's and carry that `jti`: acknowledgements name it.
   */
  polled?: { issuer: string; jti: string };
}

/** A SET whose revocation is committed: now, or by an earlier delivery (`duplicate`). */
export interface ReceivedSet {
  issuer: string;
  jti: string;
  duplicate: boolean;
}

/**
 * The one way a Security Event Token enters Rescind, pushed (RFC 8935) or polled (RFC 8936):
 * verify, map to rules, record in one transaction. Both transports call this, so they cannot
 * drift; they differ only in how they answer (push refuses a replayed `jti`, poll acknowledges
 * it, because redelivery after a lost acknowledgement is normal there).
 *
 * Resolves only after the SET's transaction committed (or had committed before: `duplicate`).
 * Rejects with {@link SetRejectedError} (an RFC 8935 §2.3 error code) when this SET can never be
 * accepted. Any other rejection means nothing was stored and the same SET may succeed later
 * (`classifyFailure` tells an outage from a bug).
 */
@Injectable()
export class ReceiveSet {
  private readonly verifier: SetVerifier;

  constructor(
    private readonly recordRevocation: RecordRevocation,
    private readonly policy: RulePolicy,
    @InjectConfig('sources') sources: WriterConfig['sources'],
  ) {
    this.verifier = new SetVerifier(sources.transmitters);
  }

  async execute(token: string, delivery: SetDelivery): Promise<ReceivedSet> {
    try {
      const verified = await this.verifier.verify(token, delivery.polled?.issuer);
      if (delivery.polled && verified.payload.jti !== delivery.polled.jti) {
        throw new SetRejectedError(
          'invalid_request',
          'the SET\'s "jti" differs from the member name it was delivered under',
        );
      }
      return await this.record(verified, delivery);
    } catch (error) {
      throw toRejection(error) ?? error;
    }
  }

  private async record(
    { transmitter, payload }: VerifiedSet,
    delivery: SetDelivery,
  ): Promise<ReceivedSet> {
    const mapped = mapSecurityEvents(
      payload.events,
      payload.sub_id,
      delivery.receivedAt.getTime(),
      this.policy,
    );
    const result = await this.recordRevocation.execute({
      source: 'ssf',
      // RFC 8417 §2.2: jti is unique per issuer: the transmitter's idempotency key.
      eventId: `${transmitter.issuer}#${payload.jti}`,
      bodySha256: eventSha256(payload),
      principal: {
        id: `ssf:${transmitter.issuer}`,
        name: `SSF transmitter ${transmitter.issuer}`,
        role: 'idp',
      },
      confirmed: true,
      reason: mapped.reason,
      occurredAt: typeof payload.iat === 'number' ? new Date(payload.iat * 1000) : null,
      receivedAt: delivery.receivedAt,
      rules: mapped.rules,
      traceContext: delivery.traceContext,
    });
    return { issuer: transmitter.issuer, jti: payload.jti, duplicate: result.duplicate };
  }
}

/** The RFC 8935 §2.3 error for a SET that can never be accepted; undefined for "try later". */
function toRejection(error: unknown): SetRejectedError | undefined {
  if (error instanceof SetRejectedError) {
    return error;
  }
  if (error instanceof IdempotencyConflictError) {
    return new SetRejectedError(
      'invalid_request',
      'a different SET with this jti was already received',
    );
  }
  if (error instanceof RescindError && error.code === 'forbidden') {
    return new SetRejectedError('access_denied', error.message);
  }
  if (error instanceof RescindError && error.verdict === 'reject') {
    return new SetRejectedError('invalid_request', error.message);
  }
  return undefined;
}
