import { MAX_RULE_KEY_LENGTH, ruleKey } from '@rescind/contracts';
import type { RevocationConsumer } from '@rescind/revocation-consumer';
import { Kafka, logLevel, type Producer } from 'kafkajs';
import { randomBytes, randomUUID } from 'node:crypto';
import { IngestSourceEvent } from '../../apps/revocation-writer/src/ingest/ingest-source-event';
import { collectTopic, type ReceivedMessage } from '../support/kafka';
import {
  type ApiResponse,
  call,
  type OperatorHarness,
  startOperatorHarness,
} from '../support/operator';
import { rowCounts } from '../support/postgres';
import { waitFor } from '../support/wait-for';

/**
 * What the writer acknowledges is what every enforcement point can apply, and no input reaches
 * PostgreSQL as a 500: rule keys within the contract's limit (which fits every btree index that
 * holds a key), text PostgreSQL stores exactly as sent, database refusals as 4xx.
 */

interface Problem {
  status: number;
  code: string;
  retriable: boolean;
  detail: string;
  errors?: Array<{ pointer: string; detail: string }>;
}

/** `n` characters that percent-encoding keeps as they are and PostgreSQL cannot compress. */
const incompressible = (n: number): string =>
  randomBytes(n).toString('base64url').slice(0, n).padEnd(n, 'x');

const ISSUER = 'https://idp.example';

describe('input integrity', () => {
  let harness: OperatorHarness;
  let consumer: RevocationConsumer;
  let producer: Producer;
  let dlq: { messages: ReceivedMessage[]; stop(): Promise<void> };

  beforeAll(async () => {
    harness = await startOperatorHarness('integrity', {
      KAFKA_INGEST_SOURCES: 'hr',
      KAFKA_INGEST_GROUP_ID: `integrity-${randomBytes(4).toString('hex')}`,
      KAFKA_INGEST_MAX_WAIT_MS: '50',
    });
    consumer = await harness.consumer();
    dlq = await collectTopic(harness.brokers, harness.topics.names.deadLetter);
    producer = new Kafka({
      brokers: harness.brokers,
      clientId: 'integrity-producer',
      logLevel: logLevel.NOTHING,
    }).producer();
    await producer.connect();
  });

  afterAll(async () => {
    await producer?.disconnect();
    await dlq?.stop();
    await harness?.stop();
  });

  const operatorRevoke = (rules: unknown[], reason: unknown = 'integrity test') =>
    call<Problem & { rules: Array<{ id: string; key: string }> }>(
      harness.writer,
      'POST',
      '/v1/revocations',
      { token: harness.tokens.operator, body: { rules, reason } },
    );

  const hrEvent = (fields: Record<string, unknown>) =>
    call<Problem>(harness.writer, 'POST', '/v1/events/hr', {
      token: harness.tokens.hr,
      body: {
        id: `hr-${randomUUID()}`,
        type: 'employee.terminated',
        occurredAt: new Date().toISOString(),
        ...fields,
      },
    });

  /** A refusal that names `pointer` and wrote nothing. */
  async function expectRefused(
    send: () => Promise<ApiResponse<Problem>>,
    expected: { status: number; code: string; pointer?: string; detail: RegExp },
  ): Promise<Problem> {
    const before = await rowCounts(harness.db);
    const response = await send();
    expect(response.status).toBe(expected.status);
    expect(response.body).toMatchObject({ code: expected.code, retriable: false });
    if (expected.pointer !== undefined) {
      expect(response.body.errors).toEqual([
        { pointer: expected.pointer, detail: expect.stringMatching(expected.detail) as string },
      ]);
    } else {
      expect(response.body.detail).toMatch(expected.detail);
    }
    expect(await rowCounts(harness.db)).toEqual(before);
    return response.body;
  }

  describe('rule keys: the contract limit fits every PostgreSQL index that holds a key', () => {
    /** `sub:<iss>:<value>` of exactly `length` characters, nothing in it compressible. */
    function ruleOfKeyLength(length: number): { claim: string; value: string; iss: string } {
      const value = incompressible(1000);
      const iss = incompressible(length - 'sub::'.length - value.length);
      const rule = { claim: 'sub', value, iss };
      expect(ruleKey(rule)).toHaveLength(length);
      return rule;
    }

    it(`writes, audits, publishes and reinstates a rule whose key is exactly ${MAX_RULE_KEY_LENGTH} characters`, async () => {
      const rule = ruleOfKeyLength(MAX_RULE_KEY_LENGTH);
      const created = await operatorRevoke([rule]);
      expect(created.status).toBe(201);
      const [written] = created.body.rules;
      expect(written!.key).toHaveLength(MAX_RULE_KEY_LENGTH);

      await waitFor(
        'the rule at the enforcement point',
        () => consumer.check({ sub: rule.value, iss: rule.iss, iat: 0 }).revoked,
      );

      const reinstated = await call(
        harness.writer,
        'POST',
        `/v1/revocations/${written!.id}/reinstate`,
        { token: harness.tokens.admin, body: { reason: 'over-broad' } },
      );
      expect(reinstated.status).toBe(200);
      const { rows } = await harness.db.query<{ n: string }>(
        `SELECT count(*) AS n FROM audit_log WHERE rule_key = $1`,
        [written!.key],
      );
      expect(Number(rows[0]!.n)).toBe(2);
      await waitFor(
        'the reinstatement at the enforcement point',
        () => !consumer.check({ sub: rule.value, iss: rule.iss, iat: 0 }).revoked,
      );
    });

    it(`refuses a key of ${MAX_RULE_KEY_LENGTH + 1} characters with 422, naming the field`, async () => {
      const rule = ruleOfKeyLength(MAX_RULE_KEY_LENGTH + 1);
      await expectRefused(() => operatorRevoke([rule]), {
        status: 422,
        code: 'invalid_event',
        pointer: '/rules/0/iss',
        detail: /^encodes to a rule key of 2,049 characters; the limit is 2,048$/,
      });
    });

    it("refuses a key beyond PostgreSQL's btree entry limit with 422, not a 500 from the index", async () => {
      await expectRefused(
        () =>
          operatorRevoke([
            { claim: 'sub', value: incompressible(1024), iss: incompressible(2048) },
          ]),
        {
          status: 422,
          code: 'invalid_event',
          pointer: '/rules/0/iss',
          detail: /^encodes to a rule key of 3,077 characters; the limit is 2,048$/,
        },
      );
    });

    it('refuses an operator value of 1,024 CJK characters (9 key characters each)', async () => {
      await expectRefused(() => operatorRevoke([{ claim: 'sub', value: '漢'.repeat(1024) }]), {
        status: 422,
        code: 'invalid_event',
        pointer: '/rules/0/value',
        detail: /^encodes to a rule key of 9,221 characters; the limit is 2,048$/,
      });
    });

    it('refuses in a dry run what the real request refuses, so a dry run never answers "create" for it', async () => {
      await expectRefused(
        () =>
          call<Problem>(harness.writer, 'POST', '/v1/revocations', {
            token: harness.tokens.operator,
            body: {
              rules: [{ claim: 'sub', value: '漢'.repeat(1024) }],
              reason: 'x',
              dryRun: true,
            },
          }),
        {
          status: 422,
          code: 'invalid_event',
          pointer: '/rules/0/value',
          detail: /^encodes to a rule key of 9,221 characters; the limit is 2,048$/,
        },
      );
    });

    it('refuses an HR event whose issuer URL encodes to a key over the limit, naming /iss', async () => {
      const iss = `${ISSUER}/${'/'.repeat(2048 - ISSUER.length - 1)}`;
      await expectRefused(() => hrEvent({ subject: 'long-issuer', iss }), {
        status: 422,
        code: 'invalid_event',
        pointer: '/iss',
        detail: /^encodes to a rule key of [\d,]+ characters; the limit is 2,048$/,
      });
    });
  });

  describe('text PostgreSQL cannot store as sent is refused with a 4xx naming the field', () => {
    const NUL = /U\+0000/;
    const LONE = /lone surrogate \(U\+D800 at index 1\)/;

    it.each([
      ['HR subject', () => hrEvent({ subject: 'a\u0000b' }), '/subject', NUL],
      [
        'HR iss',
        () => hrEvent({ subject: 'nul-iss', iss: `${ISSUER}/\u0000` }),
        '/iss',
        /U\+0000|URL/,
      ],
      ['HR subject (lone surrogate)', () => hrEvent({ subject: 'a\ud800b' }), '/subject', LONE],
      [
        'operator value',
        () => operatorRevoke([{ claim: 'sub', value: 'a\u0000b' }]),
        '/rules/0/value',
        NUL,
      ],
      [
        'operator value (lone surrogate)',
        () => operatorRevoke([{ claim: 'jti', value: 'a\ud800b' }]),
        '/rules/0/value',
        LONE,
      ],
      [
        'operator reason',
        () => operatorRevoke([{ claim: 'sub', value: 'nul-reason' }], 'why\u0000'),
        '/reason',
        NUL,
      ],
    ])('%s: 422 invalid_event', async (_name, send, pointer, detail) => {
      await expectRefused(send, { status: 422, code: 'invalid_event', pointer, detail });
    });

    it('global token revocation: 400 invalid_request naming sub_id.sub', async () => {
      await expectRefused(
        () =>
          call<Problem>(harness.writer, 'POST', '/global-token-revocation', {
            token: harness.tokens.idp,
            body: { sub_id: { format: 'iss_sub', iss: ISSUER, sub: 'a\u0000b' } },
          }),
        { status: 400, code: 'invalid_request', detail: /^sub_id\.sub: must not contain U\+0000/ },
      );
    });

    it('stores and publishes claims exactly as sent: an NFD subject revokes NFD tokens, not NFC ones (RFC 7519 §7.3)', async () => {
      const nfd = 'Jose\u0301-integrity';
      const nfc = nfd.normalize('NFC');
      expect(nfc).not.toBe(nfd);
      expect((await hrEvent({ subject: nfd, iss: ISSUER })).status).toBe(202);
      const { rows } = await harness.db.query<{ value: string }>(
        `SELECT value FROM revocation_rule WHERE rule_key = $1`,
        [ruleKey({ claim: 'sub', value: nfd, iss: ISSUER })],
      );
      expect(rows.map((r) => r.value)).toEqual([nfd]);
      await waitFor(
        'the NFD rule at the enforcement point',
        () => consumer.check({ sub: nfd, iss: ISSUER, iat: 0 }).revoked,
      );
      expect(consumer.check({ sub: nfc, iss: ISSUER, iat: 0 }).revoked).toBe(false);
    });
  });

  describe('over Kafka: a dead letter invalid_event at the first attempt, and the partition moves on', () => {
    const headers = { 'content-type': 'application/json', 'rescind-schema-version': 'v1' };

    it.each([
      ['a NUL in the subject', { subject: 'a\u0000b' }, /\/subject must not contain U\+0000/],
      [
        'an issuer that encodes to a key over the limit',
        { subject: 'kafka-long-issuer', iss: `${ISSUER}/${'/'.repeat(2000)}` },
        /\/iss encodes to a rule key of [\d,]+ characters; the limit is 2,048/,
      ],
    ])('%s', async (_name, fields, detail) => {
      const ingest = harness.writer.app.get(IngestSourceEvent);
      const attempts = jest.spyOn(ingest, 'prepare');
      try {
        const id = `kafka-${randomUUID()}`;
        const after = `after-${id}`;
        const event = (eventId: string, extra: Record<string, unknown>) =>
          JSON.stringify({
            id: eventId,
            type: 'employee.terminated',
            occurredAt: new Date().toISOString(),
            ...extra,
          });
        await producer.send({
          topic: harness.topics.names.hrEvents,
          messages: [
            { key: id, value: event(id, fields), headers, partition: 0 },
            { key: after, value: event(after, { subject: after }), headers, partition: 0 },
          ],
        });
        const letter = await waitFor('the dead letter', () =>
          dlq.messages.find((m) => m.key === id),
        );
        expect(letter.headers['rescind-dlq-reason']).toBe('invalid_event');
        expect(letter.headers['rescind-dlq-detail']).toMatch(detail);
        await waitFor(
          'the next event to be processed',
          () => consumer.check({ sub: after, iat: 0 }).revoked,
        );
        const tries = attempts.mock.calls.filter(
          ([input]) => (input.body as { id: string }).id === id,
        );
        expect(tries).toHaveLength(1);
      } finally {
        attempts.mockRestore();
      }
    });
  });
});
