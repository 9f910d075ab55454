import { randomUUID } from 'node:crypto';
import { testTopics } from '../support/kafka';
import { waitFor } from '../support/wait-for';
import { postHrEvent, type RunningWriter } from '../support/writer';
import { sampleValue } from '../support/prometheus';
import { startWriterEnvironment, type WriterEnvironment } from '../support/writer-environment';

const ISS = 'https://idp.example.com';
const now = () => Math.floor(Date.now() / 1000);

/**
 * A termination blocks the person until HR (or an operator) says otherwise, whatever the IdP
 * still mints; `employee.rehired` / `employee.reinstated` lift the block HR put, and only that.
 */
describe('HR terminations last until reinstated', () => {
  const topics = testTopics('hrreinstate');
  let env: WriterEnvironment;
  let writer: RunningWriter;
  let siem: string;

  beforeAll(async () => {
    env = await startWriterEnvironment('hr_reinstate', { topics, consumer: true });
    writer = env.writer;
    siem = await env.token('soar', 'siem');
  });

  afterAll(() => env?.close());

  const hr = async (
    type: string,
    subject: string,
    id = `hr-${randomUUID()}`,
    occurredAt = new Date().toISOString(),
  ) => {
    const response = await postHrEvent(writer, { id, type, occurredAt, subject, iss: ISS });
    expect(response.status).toBe(202);
    return (await response.json()) as Record<string, unknown>;
  };

  it('refuses every token of the person, new logins included, until employee.rehired; a repeated rehire is one', async () => {
    const sub = `alice-${randomUUID()}`;
    const later = () => ({ sub, iss: ISS, iat: now() + 60, auth_time: now() + 60 });
    await hr('employee.terminated', sub);
    await waitFor('the termination at the consumer', () => env.consumer.check(later()).revoked);

    const id = `hr-${randomUUID()}`;
    const occurredAt = new Date().toISOString();
    const rehired = await hr('employee.rehired', sub, id, occurredAt);
    expect(rehired).toMatchObject({
      duplicate: false,
      reinstatements: [{ key: `sub:${encodeURIComponent(ISS)}:${sub}`, outcome: 'reinstated' }],
    });
    await waitFor('the rehire at the consumer', () => !env.consumer.check(later()).revoked);
    // The same event again: the first answer, nothing written.
    const { rows: before } = await env.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM audit_log`,
    );
    expect(await hr('employee.rehired', sub, id, occurredAt)).toMatchObject({ duplicate: true });
    const { rows: after } = await env.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM audit_log`,
    );
    expect(after[0]!.n).toBe(before[0]!.n);

    const { rows: audit } = await env.db.query<{ action: string; source: string }>(
      `SELECT action, source FROM audit_log WHERE rule_key = $1 ORDER BY id`,
      [`sub:${encodeURIComponent(ISS)}:${sub}`],
    );
    expect(audit).toEqual([
      { action: 'rule.set', source: 'hr' },
      { action: 'rule.reinstated', source: 'hr' },
    ]);
  });

  it("keeps a block another source also put on the person: HR's rehire does not lift a SIEM compromise", async () => {
    const sub = `bob-${randomUUID()}`;
    const compromised = await fetch(`${writer.url}/v1/events/siem`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${siem}` },
      body: JSON.stringify({
        id: `siem-${randomUUID()}`,
        type: 'credential.compromised',
        occurredAt: new Date().toISOString(),
        severity: 'high',
        subject: sub,
        iss: ISS,
      }),
    });
    expect(compromised.status).toBe(202);
    await hr('employee.terminated', sub);
    const token = { sub, iss: ISS, iat: now() - 60, auth_time: now() - 60 };
    await waitFor('the revocation at the consumer', () => env.consumer.check(token).revoked);

    expect(await hr('employee.rehired', sub)).toMatchObject({
      reinstatements: [{ outcome: 'kept', keptFor: ['siem'] }],
    });
    const { rows } = await env.db.query<{ status: string }>(
      `SELECT status FROM revocation_rule WHERE value = $1`,
      [sub],
    );
    expect(rows).toEqual([{ status: 'active' }]);
    expect(env.consumer.check(token).revoked).toBe(true);
  });

  it('accepts a rehire of someone with no block, and says there was nothing to reinstate', async () => {
    expect(await hr('employee.reinstated', `carol-${randomUUID()}`)).toMatchObject({
      revocationId: null,
      reinstatements: [{ outcome: 'not_active' }],
    });
  });

  it('counts reinstatements by outcome, and the time from occurredAt to the commit, by source', async () => {
    const metrics = await (await fetch(`${writer.url}/metrics`)).text();
    const reinstatements = (outcome: string) =>
      sampleValue(metrics, 'rescind_reinstatements_total', { source: 'hr', outcome });
    // The tests above: one lifted (its repetition is a duplicate), one kept, one not active.
    expect(reinstatements('reinstated')).toBe(1);
    expect(reinstatements('kept')).toBe(1);
    expect(reinstatements('not_active')).toBe(1);
    expect(
      sampleValue(metrics, 'rescind_detection_to_commit_seconds_count', { source: 'hr' }),
    ).toBeGreaterThan(0);
  });
});
