import { Logger } from '@nestjs/common';
import type { RevocationConsumer } from '@rescind/revocation-consumer';
import type { Client } from 'pg';
import { PollTransmitter } from '../support/ssf-poll-transmitter';
import {
  CAEP,
  RECEIVER_AUD,
  RISC,
  TestTransmitter,
  TRANSMITTER_ISS,
  unsignedSet,
} from '../support/ssf-transmitter';
import { TcpProxy } from '../../tools/net/tcp-proxy';
import { testTopics } from '../support/kafka';
import { waitFor } from '../support/wait-for';
import type { RunningWriter } from '../support/writer';
import { startWriterEnvironment, type WriterEnvironment } from '../support/writer-environment';

const IDP = 'https://idp.example.com';
/** A second configured transmitter: its SETs are valid, but not on the first one's poll stream. */
const OTHER_ISS = 'https://other-transmitter.example.com';
const POLL_AUTHORIZATION = 'Bearer poll-credential-0123456789abcdef';

const user = (sub: string) => ({ format: 'iss_sub', iss: IDP, sub });
const accountDisabled = { [`${RISC}account-disabled`]: {} };
const iat = () => Math.floor(Date.now() / 1000) - 60;

/** The SSF_TRANSMITTERS entry of a polled transmitter, with test-sized timings. */
function polled(signer: TestTransmitter, endpoint: string, poll: Record<string, unknown> = {}) {
  return {
    ...signer.config(),
    poll: {
      endpoint,
      authorization: POLL_AUTHORIZATION,
      intervalMs: 50,
      maxEvents: 20,
      // Generous for a slow, shared machine: only the unanswered-poll test waits for it.
      timeoutMs: 5000,
      maxBackoffMs: 200,
      ...poll,
    },
  };
}

/** How often this SET's event id was recorded (0 or 1: it is the idempotency key). */
async function recorded(db: Client, jti: string, iss = TRANSMITTER_ISS): Promise<number> {
  const { rowCount } = await db.query(
    `SELECT 1 FROM processed_event WHERE source = 'ssf' AND event_id = $1`,
    [`${iss}#${jti}`],
  );
  return rowCount ?? 0;
}

/** rescind_ssf_polls_total of this transmitter with outcome "failed", from GET /metrics. */
async function failedPolls(writer: RunningWriter, iss = TRANSMITTER_ISS): Promise<number> {
  const metrics = await (await fetch(`${writer.url}/metrics`)).text();
  const line = metrics
    .split('\n')
    .find(
      (l) =>
        l.startsWith('rescind_ssf_polls_total{') &&
        l.includes(`transmitter="${iss}"`) &&
        l.includes('outcome="failed"'),
    );
  return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1));
}

/** Polls that reported `jti` back to the transmitter, acknowledged or as an error. */
function reportedIn(transmitter: PollTransmitter, jti: string): number[] {
  return transmitter.polls
    .filter((p) => p.body.ack?.includes(jti) || Object.hasOwn(p.body.setErrs ?? {}, jti))
    .map((p) => p.index);
}

describe('RFC 8936 poll delivery of CAEP/RISC SETs (the writer polls the transmitter)', () => {
  const topics = testTopics('ssfpolling');
  let env: WriterEnvironment;
  let signer: TestTransmitter;
  let other: TestTransmitter;
  let transmitter: PollTransmitter;
  let proxy: TcpProxy;
  let writer: RunningWriter;
  let db: Client;
  let consumer: RevocationConsumer;

  beforeAll(async () => {
    signer = await TestTransmitter.create();
    other = await TestTransmitter.create('other-transmitter-key');
    transmitter = await PollTransmitter.start(signer, { authorization: POLL_AUTHORIZATION });
    // The writer reaches the transmitter through a proxy, to take it off the network.
    proxy = await TcpProxy.start('127.0.0.1', transmitter.listenPort);
    env = await startWriterEnvironment('ssfpoll', {
      topics,
      consumer: true,
      config: {
        SSF_TRANSMITTERS: JSON.stringify([
          // 64 KiB: ample for 20 test SETs, far below the transmitter's oversized answers.
          polled(signer, `http://127.0.0.1:${proxy.port}/ssf/poll`, { maxResponseBytes: 65_536 }),
          { ...other.config(), issuer: OTHER_ISS },
        ]),
      },
    });
    ({ writer, db, consumer } = env);
  });

  afterAll(async () => {
    await env?.close();
    await proxy?.stop();
    await transmitter?.stop();
  });

  afterEach(() => {
    transmitter.onAck = null;
    transmitter.onDeliver = null;
  });

  const revoked = (sub: string) => consumer.check({ sub, iss: IDP, iat: iat() }).revoked;

  it('turns polled SETs into rules and acknowledges each jti in the next poll, after its commit', async () => {
    const ackedBeforeCommit: string[] = [];
    transmitter.onAck = async (jti) => {
      if ((await recorded(db, jti)) === 0) {
        ackedBeforeCommit.push(jti);
      }
    };
    const disabled = await transmitter.publish(accountDisabled, { subId: user('poll-disabled') });
    const session = await transmitter.publish({
      [`${CAEP}session-revoked`]: {
        subject: {
          format: 'complex',
          user: user('poll-session-user'),
          session: { format: 'opaque', id: 'poll-sess-1' },
        },
      },
    });

    await waitFor('the disabled account revoked', () => revoked('poll-disabled'));
    await waitFor(
      'the session revoked',
      () => consumer.check({ sid: 'poll-sess-1', iat: 4_000_000_000 }).revoked,
    );
    await waitFor(
      'both acknowledged',
      () => transmitter.ackedIn(disabled).length > 0 && transmitter.ackedIn(session).length > 0,
    );

    expect(ackedBeforeCommit).toEqual([]);
    for (const jti of [disabled, session]) {
      const [delivered, ...redelivered] = transmitter.deliveredIn(jti);
      expect(redelivered).toEqual([]);
      expect(transmitter.ackedIn(jti)[0]).toBe(delivered! + 1);
      expect(transmitter.setErrs.has(jti)).toBe(false);
    }
    const acking = transmitter.polls[transmitter.ackedIn(disabled)[0]!]!;
    expect(acking.authorization).toBe(POLL_AUTHORIZATION);
    expect(acking.body).toEqual({
      ack: expect.arrayContaining([disabled]),
      setErrs: {},
      maxEvents: 20,
      returnImmediately: true,
    });
    expect(transmitter.polls.filter((p) => p.status === 401)).toEqual([]);
  });

  it('reports SETs that can never be accepted in setErrs with their RFC 8935 code, and records the valid ones of the same batch', async () => {
    const never = { subId: user('poll-never') };
    const impostor = await TestTransmitter.create(signer.publicJwk.kid);
    const refused: Record<string, [unknown, string]> = {
      'bad-key': [
        await impostor.sign(accountDisabled, { ...never, jti: 'bad-key' }),
        'invalid_key',
      ],
      'bad-typ': [
        await signer.sign(accountDisabled, { ...never, jti: 'bad-typ', typ: 'JWT' }),
        'invalid_request',
      ],
      'bad-aud': [
        await signer.sign(accountDisabled, {
          ...never,
          jti: 'bad-aud',
          aud: 'https://else.example',
        }),
        'invalid_audience',
      ],
      'bad-exp': [
        await signer.sign(accountDisabled, { ...never, jti: 'bad-exp', exp: iat() + 3600 }),
        'invalid_request',
      ],
      'bad-iss': [
        await signer.sign(accountDisabled, {
          ...never,
          jti: 'bad-iss',
          iss: 'https://evil.example',
        }),
        'invalid_issuer',
      ],
      // Valid for push, but this poll stream speaks for TRANSMITTER_ISS only.
      'bad-other-transmitter': [
        await other.sign(accountDisabled, {
          ...never,
          jti: 'bad-other-transmitter',
          iss: OTHER_ISS,
        }),
        'invalid_issuer',
      ],
      'bad-none': [
        unsignedSet({
          iss: TRANSMITTER_ISS,
          aud: RECEIVER_AUD,
          jti: 'bad-none',
          iat: iat(),
          events: accountDisabled,
          sub_id: never.subId,
        }),
        'invalid_request',
      ],
      'bad-member-name': [
        await signer.sign(accountDisabled, { ...never, jti: 'not-its-member-name' }),
        'invalid_request',
      ],
      'bad-not-a-string': [{ a: 1 }, 'invalid_request'],
    };
    const good1 = 'good-in-bad-batch-1';
    const good2 = 'good-in-bad-batch-2';
    transmitter.enqueue({
      ...Object.fromEntries(Object.entries(refused).map(([jti, [set]]) => [jti, set])),
      [good1]: await signer.sign(accountDisabled, { jti: good1, subId: user('poll-good-1') }),
      [good2]: await signer.sign(accountDisabled, { jti: good2, subId: user('poll-good-2') }),
    });

    await waitFor('every refused SET reported', () =>
      Object.keys(refused).every((jti) => transmitter.setErrs.has(jti)),
    );
    await waitFor('the valid SETs acknowledged', () =>
      [good1, good2].every((jti) => transmitter.ackedIn(jti).length > 0),
    );
    await waitFor('the valid SETs revoked', () => revoked('poll-good-1') && revoked('poll-good-2'));

    const codes = Object.fromEntries(
      Object.keys(refused).map((jti) => [jti, transmitter.setErrs.get(jti)?.err]),
    );
    expect(codes).toEqual(
      Object.fromEntries(Object.entries(refused).map(([jti, [, err]]) => [jti, err])),
    );
    for (const jti of Object.keys(refused)) {
      expect(transmitter.setErrs.get(jti)!.description.length).toBeGreaterThan(0);
      expect(transmitter.ackedIn(jti)).toEqual([]);
      expect(transmitter.deliveredIn(jti)).toEqual(transmitter.deliveredIn(good1));
    }
    const { rowCount } = await db.query(`SELECT 1 FROM revocation_rule WHERE value = 'poll-never'`);
    expect(rowCount).toBe(0);
    const metrics = await (await fetch(`${writer.url}/metrics`)).text();
    expect(metrics).toMatch(
      /rescind_ssf_polled_sets_total\{[^}]*outcome="rejected",err="invalid_key"[^}]*\} 1\n/,
    );
  });

  it('acknowledges a redelivered jti that had committed (its ack was lost), without an error and without a second effect', async () => {
    const jti = await transmitter.publish(accountDisabled, { subId: user('poll-redelivered') });
    await waitFor('the first delivery acknowledged', () => transmitter.ackedIn(jti).length === 1);
    const effects = async () =>
      (
        await db.query<{ seq: string; audit: string; events: string }>(
          `SELECT (SELECT string_agg(seq::text, ',') FROM revocation_rule WHERE value = 'poll-redelivered') AS seq,
                  (SELECT count(*) FROM audit_log WHERE source_event_id = $1) AS audit,
                  (SELECT count(*) FROM processed_event WHERE event_id = $1) AS events`,
          [`${TRANSMITTER_ISS}#${jti}`],
        )
      ).rows[0];
    const before = await effects();
    expect(before).toMatchObject({ audit: '1', events: '1' });

    transmitter.redeliver(jti);
    await waitFor('the redelivery acknowledged', () => transmitter.ackedIn(jti).length === 2);

    expect(transmitter.deliveredIn(jti)).toHaveLength(2);
    expect(transmitter.setErrs.has(jti)).toBe(false);
    expect(await effects()).toEqual(before);
  });

  it('loses nothing while the transmitter answers 500, garbage or nothing: unacknowledged jtis are sent again', async () => {
    const first = 'through-500-1';
    const queuedDuringOutage = await signer.sign(accountDisabled, {
      jti: 'through-500-2',
      subId: user('poll-after-500'),
    });
    transmitter.onDeliver = (jtis) => {
      if (jtis.includes(first)) {
        // The polls that would acknowledge `first` fail, and more arrives meanwhile.
        transmitter.failNext('error', 'malformed', 'hang', 'error');
        transmitter.enqueue({ 'through-500-2': queuedDuringOutage });
      }
    };
    await transmitter.publish(accountDisabled, { jti: first, subId: user('poll-before-500') });

    await waitFor('both acknowledged', () =>
      [first, 'through-500-2'].every((jti) => transmitter.ackedIn(jti).length > 0),
    );
    await waitFor('both revoked', () => revoked('poll-before-500') && revoked('poll-after-500'));

    const [delivered] = transmitter.deliveredIn(first);
    const failed = transmitter.polls.slice(delivered! + 1, delivered! + 5);
    // The unanswered poll was ended by the writer's timeout (5 s here), not waited for forever.
    expect(failed.map((p) => p.status)).toEqual([500, 200, 0, 500]);
    expect(failed.every((p) => p.body.ack?.includes(first))).toBe(true);
    expect(transmitter.ackedIn(first)[0]).toBe(delivered! + 5);
    expect(transmitter.deliveredIn(first)).toEqual([delivered]);
  });

  it('fails a poll answered larger than maxResponseBytes or not as application/json (RFC 8936 §2.3), records nothing from it, and recovers', async () => {
    const warn = jest.spyOn(Logger.prototype, 'warn');
    try {
      const failedBefore = await failedPolls(writer);
      const jti = 'poll-oversized-1';
      const set = await signer.sign(accountDisabled, { jti, subId: user('poll-oversized') });
      // In one go: the first poll to see the SET is answered oversized, the next as text/plain.
      transmitter.failNext('oversized', 'text-plain');
      transmitter.enqueue({ [jti]: set });

      await waitFor(
        'acknowledged after the refused answers',
        () => transmitter.ackedIn(jti).length > 0,
      );
      await waitFor('revoked', () => revoked('poll-oversized'));

      const [oversized, ...again] = transmitter.deliveredIn(jti);
      expect(again).toEqual([oversized! + 1, oversized! + 2]);
      expect(transmitter.polls.slice(oversized, oversized! + 3).map((p) => p.status)).toEqual([
        200, 200, 200,
      ]);
      // Recorded only from the third answer: its jti is reported in the poll after that, and
      // neither refused answer was acknowledged or reported as an error.
      expect(reportedIn(transmitter, jti)).toEqual([oversized! + 3]);
      expect(transmitter.setErrs.has(jti)).toBe(false);
      expect(await recorded(db, jti)).toBe(1);
      expect(await failedPolls(writer)).toBe(failedBefore + 2);
      const warnings = warn.mock.calls.map(([message]) => String(message));
      expect(warnings).toContainEqual(
        expect.stringMatching(/poll failed .*: response larger than 65536 bytes$/),
      );
      expect(warnings).toContainEqual(
        expect.stringMatching(/poll failed .*: response is "text\/plain", not application\/json/),
      );
      expect((await fetch(`${writer.url}/health/live`)).status).toBe(200);
    } finally {
      warn.mockRestore();
    }
  });

  it('keeps polling with back-off while the transmitter is unreachable, and loses nothing', async () => {
    proxy.cut();
    const refusedBefore = proxy.refused;
    const jti = await transmitter.publish(accountDisabled, { subId: user('poll-unreachable') });
    try {
      await waitFor(
        'polls refused by the unreachable transmitter',
        () => proxy.refused >= refusedBefore + 3,
      );
      expect(transmitter.deliveredIn(jti)).toEqual([]);
      expect((await fetch(`${writer.url}/health/live`)).status).toBe(200);
    } finally {
      proxy.restore();
    }
    await waitFor('revoked after the transmitter came back', () => revoked('poll-unreachable'));
    await waitFor('acknowledged', () => transmitter.ackedIn(jti).length > 0);
    expect(await recorded(db, jti)).toBe(1);
  });
});

describe('RFC 8936 poll delivery: moreAvailable', () => {
  const topics = testTopics('ssfpolling');
  let env: WriterEnvironment;
  let transmitter: PollTransmitter;
  let db: Client;
  const jtis: string[] = [];

  beforeAll(async () => {
    const signer = await TestTransmitter.create();
    transmitter = await PollTransmitter.start(signer);
    for (let i = 0; i < 5; i++) {
      jtis.push(await transmitter.publish(accountDisabled, { subId: user(`poll-drain-${i}`) }));
    }
    env = await startWriterEnvironment('ssfdrain', {
      topics,
      config: {
        // An interval far beyond the waits below: only moreAvailable can explain a second poll.
        SSF_TRANSMITTERS: JSON.stringify([
          polled(signer, transmitter.endpoint, { intervalMs: 600_000, maxEvents: 2 }),
        ]),
      },
    });
    ({ db } = env);
  });

  afterAll(async () => {
    await env?.close();
    await transmitter?.stop();
  });

  it('polls again at once while the transmitter has more, acknowledging as it goes', async () => {
    await waitFor('all five recorded', async () => {
      const { rowCount } = await db.query(
        `SELECT 1 FROM processed_event WHERE source = 'ssf' AND event_id = ANY($1)`,
        [jtis.map((jti) => `${TRANSMITTER_ISS}#${jti}`)],
      );
      return rowCount === jtis.length;
    });

    const polls = transmitter.polls;
    expect(polls.map((p) => p.delivered.length)).toEqual([2, 2, 1]);
    expect(polls.map((p) => p.moreAvailable)).toEqual([true, true, false]);
    expect(polls.map((p) => p.body.maxEvents)).toEqual([2, 2, 2]);
    expect(polls[1]!.body.ack).toEqual(polls[0]!.delivered);
    expect(polls[2]!.body.ack).toEqual(polls[1]!.delivered);
  });
});

describe('RFC 8936 poll delivery while PostgreSQL is unreachable', () => {
  const topics = testTopics('ssfpolling');
  let env: WriterEnvironment;
  let pgProxy: TcpProxy;
  let transmitter: PollTransmitter;
  let db: Client;

  beforeAll(async () => {
    const signer = await TestTransmitter.create();
    transmitter = await PollTransmitter.start(signer);
    env = await startWriterEnvironment('ssfpgdown', {
      topics,
      postgresProxy: true,
      config: { SSF_TRANSMITTERS: JSON.stringify([polled(signer, transmitter.endpoint)]) },
    });
    ({ postgresProxy: pgProxy, db } = env);
  });

  afterAll(async () => {
    await env?.close();
    await transmitter?.stop();
  });

  it('neither acknowledges nor reports a SET it could not store, and records it once PostgreSQL is back', async () => {
    const ackedBeforeCommit: string[] = [];
    transmitter.onAck = async (jti) => {
      if ((await recorded(db, jti)) === 0) {
        ackedBeforeCommit.push(jti);
      }
    };
    const jti = 'poll-pg-down-1';
    pgProxy.cut();
    try {
      await transmitter.publish(accountDisabled, { jti, subId: user('poll-pg-down') });
      await waitFor(
        'the SET delivered again after a failed attempt',
        () => transmitter.deliveredIn(jti).length >= 2,
        { timeoutMs: 30_000 },
      );
      expect(reportedIn(transmitter, jti)).toEqual([]);
      expect(transmitter.setErrs.has(jti)).toBe(false);
      expect(await recorded(db, jti)).toBe(0);
    } finally {
      pgProxy.restore();
    }

    await waitFor(
      'acknowledged once PostgreSQL is back',
      () => transmitter.ackedIn(jti).length > 0,
      {
        timeoutMs: 30_000,
      },
    );
    expect(await recorded(db, jti)).toBe(1);
    expect(transmitter.setErrs.has(jti)).toBe(false);
    expect(ackedBeforeCommit).toEqual([]);
  });
});

describe('RFC 8936 poll delivery: reporting what is pending when the writer stops', () => {
  const topics = testTopics('ssfpolling');
  let env: WriterEnvironment;
  let signer: TestTransmitter;
  let db: Client;
  /** What the current test started, for afterEach to stop. */
  let liveTransmitter: PollTransmitter | null = null;
  let liveWriter: RunningWriter | null = null;

  beforeAll(async () => {
    signer = await TestTransmitter.create();
    env = await startWriterEnvironment('ssfstop', { topics, writer: false });
    ({ db } = env);
  });

  afterEach(async () => {
    await liveWriter?.stop();
    liveWriter = null;
    await liveTransmitter?.stop();
    liveTransmitter = null;
  });

  afterAll(() => env?.close());

  /** A transmitter with these SETs already queued: the writer's first poll gets them. */
  async function startTransmitter(sets: Record<string, unknown> = {}): Promise<PollTransmitter> {
    const transmitter = await PollTransmitter.start(signer, { authorization: POLL_AUTHORIZATION });
    transmitter.enqueue(sets);
    liveTransmitter = transmitter;
    return transmitter;
  }

  async function startPolling(
    transmitter: PollTransmitter,
    poll: Record<string, unknown>,
  ): Promise<RunningWriter> {
    liveWriter = await env.startWriter({
      SSF_TRANSMITTERS: JSON.stringify([polled(signer, transmitter.endpoint, poll)]),
    });
    return liveWriter;
  }

  const signed = async (jti: string, options: Parameters<TestTransmitter['sign']>[1] = {}) => ({
    [jti]: await signer.sign(accountDisabled, { jti, subId: user(jti), ...options }),
  });

  /** Stops the writer (once) and says how long that took, in ms. */
  async function stop(writer: RunningWriter): Promise<number> {
    liveWriter = null;
    const started = performance.now();
    await writer.stop();
    return performance.now() - started;
  }

  it('acknowledges a SET committed after the last poll in an acknowledge-only request (RFC 8936 §2.4.2), with the errors not yet reported', async () => {
    const refused = 'stop-refused';
    const jti = 'stop-committed';
    const transmitter = await startTransmitter({
      ...(await signed(refused, { typ: 'JWT' })),
      ...(await signed(jti)),
    });
    // Its first poll delivers both; with this interval there is no second one.
    const writer = await startPolling(transmitter, { intervalMs: 600_000 });
    await waitFor('the SET committed', async () => (await recorded(db, jti)) === 1);

    await stop(writer);

    expect(transmitter.polls.map((p) => p.body.maxEvents)).toEqual([20, 0]);
    const [first, last] = transmitter.polls;
    expect(first!.delivered).toEqual([refused, jti]);
    expect(last!.body).toEqual({
      ack: [jti],
      setErrs: { [refused]: { err: 'invalid_request', description: expect.any(String) } },
      maxEvents: 0,
      returnImmediately: true,
    });
    expect(last!.authorization).toBe(POLL_AUTHORIZATION);
    expect(last!.status).toBe(200);
    expect(last!.delivered).toEqual([]);
    expect(transmitter.isOutstanding(jti)).toBe(false);
    expect(transmitter.isOutstanding(refused)).toBe(false);
  });

  it('sends nothing more at stop when the polls already carried every acknowledgement', async () => {
    const transmitter = await startTransmitter();
    const writer = await startPolling(transmitter, {});
    const jti = await transmitter.publish(accountDisabled, { subId: user('stop-nothing-left') });
    await waitFor('acknowledged', () => transmitter.ackedIn(jti).length > 0);
    const [acking] = transmitter.ackedIn(jti);
    // A poll after the acknowledging one: the writer has read that answer, nothing is pending.
    await waitFor('a poll after the acknowledgement', () => transmitter.polls.length > acking! + 1);

    await stop(writer);

    expect(transmitter.polls.filter((p) => p.body.maxEvents !== 20)).toEqual([]);
    expect(reportedIn(transmitter, jti)).toEqual([acking]);
  });

  it('gives up the acknowledge-only request after at most 2 s when the transmitter does not answer, and still stops', async () => {
    const jti = 'stop-hang';
    const transmitter = await startTransmitter(await signed(jti));
    // A poll timeout far longer than the bound of the report at stop; no second poll.
    const writer = await startPolling(transmitter, { intervalMs: 600_000, timeoutMs: 10_000 });
    await waitFor('the SET committed', async () => (await recorded(db, jti)) === 1);
    transmitter.failNext('hang');

    const elapsed = await stop(writer);

    const last = transmitter.polls.at(-1)!;
    expect(last.body).toMatchObject({ ack: [jti], maxEvents: 0 });
    expect(last.status).toBe(0); // never answered: the writer stopped waiting
    expect(elapsed).toBeGreaterThanOrEqual(1900);
    expect(elapsed).toBeLessThan(6000);
    // Not acknowledged, so delivered again after the restart (and recorded once).
    expect(transmitter.isOutstanding(jti)).toBe(true);
  });
});
