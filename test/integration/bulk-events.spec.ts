import { randomUUID } from 'node:crypto';
import { testTopics } from '../support/kafka';
import { waitFor } from '../support/wait-for';
import { INGEST_TOKEN, type RunningWriter } from '../support/writer';
import { startWriterEnvironment, type WriterEnvironment } from '../support/writer-environment';

const ISS = 'https://idp.example.com';
const OTHER_ISS = 'https://other-idp.example.com';

const termination = (id: string, subject: string, iss = ISS) => ({
  id,
  type: 'employee.terminated',
  occurredAt: new Date().toISOString(),
  subject,
  iss,
});

interface Outcome {
  index: number;
  id: string | null;
  status: number;
  result?: { duplicate: boolean; revocationId: string | null };
  problem?: { code: string; retriable: boolean; detail: string };
}

interface Answer {
  accepted: number;
  duplicates: number;
  failed: number;
  results: Outcome[];
}

/** `POST /v1/events/{source}/bulk`: many events in one request, each answered on its own. */
describe('bulk event requests', () => {
  const topics = testTopics('bulkev');
  let env: WriterEnvironment;
  let writer: RunningWriter;

  beforeAll(async () => {
    env = await startWriterEnvironment('bulkev', {
      topics,
      consumer: true,
      postgresProxy: true,
      config: { BULK_MAX_EVENTS: '1000', BULK_CONFIRM_THRESHOLD: '50' },
    });
    writer = env.writer;
  });

  afterAll(() => env?.close());

  const bulk = (
    body: string,
    { source = 'hr', type = 'application/x-ndjson', token = INGEST_TOKEN, query = '' } = {},
  ) =>
    fetch(`${writer.url}/v1/events/${source}/bulk${query}`, {
      method: 'POST',
      headers: { 'content-type': type, authorization: `Bearer ${token}` },
      body,
    });
  const ndjson = (events: unknown[]) => events.map((e) => JSON.stringify(e)).join('\n');

  it('answers each event of an NDJSON request on its own, in order, and records the good ones', async () => {
    const run = randomUUID();
    const events = [
      JSON.stringify(termination(`${run}-0`, `ann-${run}`)),
      JSON.stringify(termination(`${run}-1`, `ben-${run}`)),
      JSON.stringify({ id: `${run}-2`, type: 'employee.terminated', occurredAt: 'yesterday' }),
      '{"id": "half a line',
      JSON.stringify(termination(`${run}-4`, `cat-${run}`)),
    ].join('\n');
    const response = await bulk(events);
    expect(response.status).toBe(200);
    const answer = (await response.json()) as Answer;
    expect(answer).toMatchObject({ accepted: 3, duplicates: 0, failed: 2 });
    expect(answer.results.map((r) => [r.index, r.status])).toEqual([
      [0, 202],
      [1, 202],
      [2, 422],
      [3, 400],
      [4, 202],
    ]);
    expect(answer.results[2]).toMatchObject({ id: `${run}-2`, problem: { code: 'invalid_event' } });
    expect(answer.results[3]).toMatchObject({ id: null, problem: { code: 'malformed_json' } });
    for (const subject of [`ann-${run}`, `ben-${run}`, `cat-${run}`]) {
      await waitFor(
        `${subject} at the enforcement point`,
        () => env.consumer.check({ sub: subject, iss: ISS, iat: 0 }).revoked,
      );
    }
    const { rows } = await env.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM processed_event WHERE event_id LIKE $1`,
      [`${run}-%`],
    );
    expect(rows[0]!.n).toBe(3);
  });

  it('takes a JSON array too, answers a repeated event as a duplicate and a reused id as a conflict', async () => {
    const run = randomUUID();
    const first = termination(`${run}-a`, `dan-${run}`);
    expect((await bulk(ndjson([first]))).status).toBe(200);
    const response = await bulk(
      JSON.stringify([
        first,
        { ...first, subject: `eve-${run}` },
        termination(`${run}-b`, `fay-${run}`),
      ]),
      { type: 'application/json' },
    );
    const answer = (await response.json()) as Answer;
    expect(answer).toMatchObject({ accepted: 1, duplicates: 1, failed: 1 });
    expect(answer.results.map((r) => r.status)).toEqual([202, 409, 202]);
    expect(answer.results[0]!.result).toMatchObject({ duplicate: true });
    expect(answer.results[1]!.problem).toMatchObject({ code: 'idempotency_conflict' });
  });

  it('authorizes each event: one of an issuer the credential may not act for fails alone', async () => {
    const run = randomUUID();
    const bound = await env.token(`hr-bound-${run}`, 'hr', ISS);
    const response = await bulk(
      ndjson([
        termination(`${run}-1`, `gus-${run}`),
        termination(`${run}-2`, `hal-${run}`, OTHER_ISS),
        termination(`${run}-3`, `ida-${run}`),
      ]),
      { token: bound },
    );
    const answer = (await response.json()) as Answer;
    expect(answer.results.map((r) => r.status)).toEqual([202, 403, 202]);
    // A credential that may not send this source's events at all: the whole request.
    const siem = await bulk(ndjson([termination(`${run}-4`, `jo-${run}`)]), {
      source: 'siem',
      token: bound,
    });
    expect(siem.status).toBe(403);
  });

  it('applies the blast-radius guard to the whole request: over the threshold it needs confirm', async () => {
    const run = randomUUID();
    const events = Array.from({ length: 60 }, (_, i) =>
      termination(`${run}-${i}`, `kim-${run}-${i}`),
    );
    const unconfirmed = await bulk(ndjson(events));
    expect(unconfirmed.status).toBe(422);
    expect(await unconfirmed.json()).toMatchObject({ code: 'confirmation_required' });
    const { rows } = await env.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM processed_event WHERE event_id LIKE $1`,
      [`${run}-%`],
    );
    expect(rows[0]!.n).toBe(0);
    const confirmed = await bulk(ndjson(events), { query: '?confirm=true' });
    expect(confirmed.status).toBe(200);
    expect(((await confirmed.json()) as Answer).accepted).toBe(60);
  });

  it('bounds the request: no events, or more than BULK_MAX_EVENTS, is a 413; a body above the single-event limit is fine', async () => {
    const empty = await bulk('\n\n');
    expect(empty.status).toBe(413);
    expect(await empty.json()).toMatchObject({ code: 'bulk_size' });
    const run = randomUUID();
    const many = Array.from({ length: 1001 }, (_, i) =>
      termination(`${run}-${i}`, `lee-${run}-${i}`),
    );
    const tooMany = await bulk(ndjson(many), { query: '?confirm=true' });
    expect(tooMany.status).toBe(413);
    // 1,000 events are ~150 KB, over HTTP_BODY_LIMIT_BYTES (64 KiB) but within the bulk limit.
    const body = ndjson(many.slice(0, 1000));
    expect(body.length).toBeGreaterThan(64 * 1024);
    const fine = await bulk(body, { query: '?confirm=true' });
    expect(fine.status).toBe(200);
    expect(((await fine.json()) as Answer).accepted).toBe(1000);
    const wrongType = await bulk(body, { type: 'text/plain' });
    expect(wrongType.status).toBe(415);
  });

  it('is a 503 as a whole when PostgreSQL is away and nothing was stored', async () => {
    const run = randomUUID();
    env.postgresProxy.cut();
    try {
      const response = await bulk(
        ndjson([termination(`${run}-1`, `mo-${run}`), termination(`${run}-2`, `ned-${run}`)]),
      );
      expect(response.status).toBe(503);
      expect(response.headers.get('retry-after')).not.toBeNull();
      expect(await response.json()).toMatchObject({ code: 'storage_unavailable', retriable: true });
    } finally {
      env.postgresProxy.restore();
    }
  });
});
