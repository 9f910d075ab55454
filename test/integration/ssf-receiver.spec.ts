import type { RevocationConsumer } from '@rescind/revocation-consumer';
import type { Client } from 'pg';
import {
  CAEP,
  RECEIVER_AUD,
  RISC,
  TestTransmitter,
  TRANSMITTER_ISS,
  unsignedSet,
} from '../support/ssf-transmitter';
import { testTopics } from '../support/kafka';
import { waitFor } from '../support/wait-for';
import type { RunningWriter } from '../support/writer';
import { startWriterEnvironment, type WriterEnvironment } from '../support/writer-environment';

const IDP = 'https://idp.example.com';

describe('POST /ssf/events (RFC 8935 push of CAEP/RISC SETs)', () => {
  const topics = testTopics('ssfreceiver');
  let env: WriterEnvironment;
  let writer: RunningWriter;
  let db: Client;
  let consumer: RevocationConsumer;
  let transmitter: TestTransmitter;

  beforeAll(async () => {
    transmitter = await TestTransmitter.create();
    env = await startWriterEnvironment('ssf', {
      topics,
      consumer: true,
      config: {
        SSF_TRANSMITTERS: JSON.stringify([transmitter.config()]),
        CUSTOM_RULE_CLAIMS: 'email',
      },
    });
    ({ writer, db, consumer } = env);
  });

  afterAll(() => env?.close());

  function push(set: string, contentType = 'application/secevent+jwt'): Promise<Response> {
    return fetch(`${writer.url}/ssf/events`, {
      method: 'POST',
      headers: { 'content-type': contentType },
      body: set,
    });
  }

  const user = (sub: string) => ({ format: 'iss_sub', iss: IDP, sub });
  const iat = () => Math.floor(Date.now() / 1000) - 60;

  it('CAEP session-revoked naming a session revokes every token of that session', async () => {
    const set = await transmitter.sign({
      [`${CAEP}session-revoked`]: {
        subject: {
          format: 'complex',
          user: user('u-session'),
          session: { format: 'opaque', id: 'sess-42' },
        },
        event_timestamp: Math.floor(Date.now() / 1000),
      },
    });
    const response = await push(set);
    expect(response.status).toBe(202);
    await waitFor(
      'the session revoked',
      () => consumer.check({ sid: 'sess-42', iat: 4_000_000_000 }).revoked,
    );
    expect(consumer.check({ sub: 'u-session', iss: IDP, iat: iat() }).revoked).toBe(false);
  });

  it.each([
    [`${CAEP}session-revoked`, 'u-caep-session'],
    [`${CAEP}credential-change`, 'u-credential-change'],
    [`${RISC}account-disabled`, 'u-disabled'],
    [`${RISC}account-purged`, 'u-purged'],
    [`${RISC}account-credential-change-required`, 'u-change-required'],
    [`${RISC}credential-compromise`, 'u-compromise'],
    [`${RISC}sessions-revoked`, 'u-sessions'],
    [`${RISC}tokens-revoked`, 'u-tokens'],
  ])('%s revokes everything of the user, grant-wide', async (type, sub) => {
    const response = await push(await transmitter.sign({ [type]: {} }, { subId: user(sub) }));
    expect(response.status).toBe(202);
    const decision = await waitFor(`${sub} revoked`, () => {
      const d = consumer.check({ sub, iss: IDP, iat: iat() });
      return d.revoked ? d : undefined;
    });
    expect(decision.rule).toMatchObject({ claim: 'sub', value: sub, iss: IDP });
    // This issuer is not declared to carry auth_time: nothing tells a new login from a token its
    // earlier grants mint, so every token is refused until no earlier grant can mint.
    const later = Math.floor(Date.now() / 1000) + 5;
    expect(consumer.check({ sub, iss: IDP, iat: later, auth_time: later }).revoked).toBe(true);
  });

  it('token-claims-change revokes the tokens issued before it only: new ones carry the new claims', async () => {
    const sub = 'u-token-claims';
    const response = await push(
      await transmitter.sign({ [`${CAEP}token-claims-change`]: {} }, { subId: user(sub) }),
    );
    expect(response.status).toBe(202);
    await waitFor(`${sub} revoked`, () => consumer.check({ sub, iss: IDP, iat: iat() }).revoked);
    const later = Math.floor(Date.now() / 1000) + 5;
    expect(consumer.check({ sub, iss: IDP, iat: later }).revoked).toBe(false);
  });

  it('maps opaque and email subjects', async () => {
    const opaque = await transmitter.sign({
      [`${RISC}account-disabled`]: { subject: { format: 'opaque', id: 'u-opaque' } },
    });
    const email = await transmitter.sign({
      [`${RISC}account-disabled`]: { subject: { format: 'email', email: 'Carol@Example.com' } },
    });
    expect((await push(opaque)).status).toBe(202);
    expect((await push(email)).status).toBe(202);
    await waitFor(
      'the opaque subject revoked',
      () => consumer.check({ sub: 'u-opaque', iat: iat() }).revoked,
    );
    await waitFor(
      'the email subject revoked',
      () => consumer.check({ email: 'carol@example.com', iat: iat() }).revoked,
    );
  });

  it('answers and records an SSF verification event without revoking anything', async () => {
    const jti = 'verification-1';
    const set = await transmitter.sign(
      { 'https://schemas.openid.net/secevent/ssf/event-type/verification': { state: 'abc' } },
      { jti, subId: { format: 'opaque', id: 'stream-1' } },
    );
    expect((await push(set)).status).toBe(202);
    const { rows } = await db.query<{ result: { rules: unknown[] } }>(
      `SELECT result FROM processed_event WHERE source = 'ssf' AND event_id = $1`,
      [`${TRANSMITTER_ISS}#${jti}`],
    );
    expect(rows).toHaveLength(1);
    expect(rows[0]!.result.rules).toEqual([]);
  });

  describe('refuses, with the RFC 8935 §2.3 error code', () => {
    const event = { [`${RISC}account-disabled`]: {} };
    const subId = user('u-never');

    async function expectRejected(response: Response, err: string): Promise<void> {
      expect(response.status).toBe(400);
      expect(response.headers.get('content-type')).toMatch(/^application\/json/);
      const body = (await response.json()) as { err: string; description: string };
      expect(body.err).toBe(err);
      expect(body.description.length).toBeGreaterThan(0);
    }

    it('an unsigned SET (alg none)', async () => {
      const set = unsignedSet({
        iss: TRANSMITTER_ISS,
        aud: RECEIVER_AUD,
        jti: 'none-1',
        iat: iat(),
        events: event,
        sub_id: subId,
      });
      await expectRejected(await push(set), 'invalid_request');
    });

    it('a SET signed by another key', async () => {
      const impostor = await TestTransmitter.create(transmitter.publicJwk.kid);
      await expectRejected(await push(await impostor.sign(event, { subId })), 'invalid_key');
    });

    it('a SET from an unknown issuer', async () => {
      await expectRejected(
        await push(await transmitter.sign(event, { subId, iss: 'https://evil.example' })),
        'invalid_issuer',
      );
    });

    it('a SET for another audience', async () => {
      await expectRejected(
        await push(await transmitter.sign(event, { subId, aud: 'https://other.example' })),
        'invalid_audience',
      );
    });

    it('a SET with exp', async () => {
      const exp = Math.floor(Date.now() / 1000) + 3600;
      await expectRejected(
        await push(await transmitter.sign(event, { subId, exp })),
        'invalid_request',
      );
    });

    it('a JWT whose typ is not secevent+jwt', async () => {
      await expectRejected(
        await push(await transmitter.sign(event, { subId, typ: 'JWT' })),
        'invalid_request',
      );
    });

    it('a replayed jti', async () => {
      const set = await transmitter.sign(event, { subId: user('u-replay'), jti: 'replay-1' });
      expect((await push(set)).status).toBe(202);
      await expectRejected(await push(set), 'invalid_request');
    });

    it('a jti PostgreSQL cannot store (U+0000), named as such and not retried as an outage', async () => {
      const response = await push(await transmitter.sign(event, { subId, jti: 'nul\u0000jti' }));
      expect(response.status).toBe(400);
      expect(await response.json()).toEqual({
        err: 'invalid_request',
        description: expect.stringMatching(/^the SET's "jti" must not contain U\+0000/),
      });
    });

    it('a malformed JWT and the wrong content type', async () => {
      await expectRejected(await push('not.a.jwt'), 'invalid_request');
      await expectRejected(
        await push(await transmitter.sign(event, { subId }), 'application/json'),
        'invalid_request',
      );
    });

    it('and none of the refused SETs wrote anything', async () => {
      const { rowCount } = await db.query(`SELECT 1 FROM revocation_rule WHERE value = 'u-never'`);
      expect(rowCount).toBe(0);
    });
  });
});
