import type { RevocationConsumer, TokenClaims } from '@rescind/revocation-consumer';
import type { Role } from '../../apps/revocation-writer/src/auth/permissions';
import type {
  CreatedRevocation,
  RuleResource,
} from '../../apps/revocation-writer/src/revocations/dto/revocations.dto';
import { call, type OperatorHarness, startOperatorHarness } from '../support/operator';
import { waitFor } from '../support/wait-for';

const ISS = 'https://idp.example.com';
/** A revocation instant on a whole second, an hour ago: iat (seconds) can sit exactly on it. */
const R = Math.floor(Date.now() / 1000) * 1000 - 3_600_000;
const R_SECONDS = R / 1000;

interface Scope {
  claim: string;
  role: Role;
  /** The claims of a token the rule must match (without iat). */
  token: TokenClaims;
  iss?: string;
  confirm?: boolean;
}

/**
 * An operator revokes over HTTP; a separate enforcement point (the consumer library) follows the
 * writer's invalidation topic and decides locally. Every scope, the iat edges of revokedBefore,
 * and both ways a rule goes down (removal, lowering), as a gateway would see them.
 */
describe('operator revocations reach enforcement points', () => {
  let h: OperatorHarness;
  let consumer: RevocationConsumer;

  beforeAll(async () => {
    h = await startOperatorHarness('ope2e', { CUSTOM_RULE_CLAIMS: 'device_id,tenant' });
    consumer = await h.consumer();
  });

  afterAll(async () => {
    await h?.stop();
  });

  async function revoke(role: Role, body: Record<string, unknown>): Promise<RuleResource> {
    const response = await call<CreatedRevocation>(h.writer, 'POST', '/v1/revocations', {
      token: h.tokens[role],
      body: { reason: 'e2e', ...body },
    });
    expect(response.status).toBe(201);
    return response.body.rules[0]!;
  }

  /** Waits until the consumer has applied `seq` or a later change. */
  async function applied(seq: number): Promise<void> {
    await waitFor(`the consumer to apply seq ${seq}`, () => consumer.status().lastSeq >= seq);
  }

  describe.each<Scope>([
    { claim: 'jti', role: 'operator', token: { jti: 'e2e-jti' } },
    { claim: 'sub', role: 'operator', token: { sub: 'e2e-sub', iss: ISS }, iss: ISS },
    { claim: 'client_id', role: 'operator', token: { client_id: 'e2e-client' } },
    { claim: 'sid', role: 'operator', token: { sid: 'e2e-sid' } },
    { claim: 'iss', role: 'admin', token: { iss: 'https://e2e-issuer.example' }, confirm: true },
    { claim: 'kid', role: 'admin', token: { kid: 'e2e-kid' }, confirm: true },
    { claim: 'device_id', role: 'operator', token: { device_id: 'e2e-device' } },
    { claim: 'tenant', role: 'admin', token: { tenant: 'e2e-tenant' }, confirm: true },
  ])('rule on $claim', ({ claim, role, token, iss, confirm }) => {
    it('reaches the deny-list as the rule written, revoking tokens issued strictly before revokedBefore', async () => {
      const value = token[claim === 'client_id' ? 'client_id' : claim] as string;
      expect(consumer.check({ ...token, iat: R_SECONDS - 1 }).revoked).toBe(false);

      const written = await revoke(role, {
        rules: [{ claim, value, iss, revokedBefore: new Date(R).toISOString() }],
        confirm,
      });
      const decision = await waitFor(`the ${claim} rule at the enforcement point`, () => {
        const d = consumer.check({ ...token, iat: R_SECONDS - 1 });
        return d.revoked ? d : undefined;
      });

      expect(decision.rule).toEqual({
        key: written.key,
        seq: written.seq,
        revocationId: written.id,
        claim,
        value,
        iss: iss ?? null,
        revokedBefore: R,
        expiresAt: Date.parse(written.expiresAt!),
        removed: false,
      });
      // The edges, decided at the consumer: iat * 1000 === revokedBefore is not "before".
      expect(consumer.check({ ...token, iat: R_SECONDS }).revoked).toBe(false);
      expect(consumer.check({ ...token, iat: R_SECONDS - 1 }).revoked).toBe(true);
      expect(consumer.check({ ...token, iat: R_SECONDS + 60 }).revoked).toBe(false);
      // Another value of the claim is untouched.
      expect(consumer.check({ ...token, [claim]: `${value}-other`, iat: 0 }).revoked).toBe(false);
    });
  });

  it('revokes every matching token, whatever its iat, for a jti rule without revokedBefore', async () => {
    const written = await revoke('operator', { rules: [{ claim: 'jti', value: 'e2e-every' }] });
    expect(written.revokedBefore).toBeNull();
    const decision = await waitFor('the jti rule at the enforcement point', () => {
      const d = consumer.check({ jti: 'e2e-every', iat: 4_000_000_000 });
      return d.revoked ? d : undefined;
    });
    expect(decision.rule).toMatchObject({ seq: written.seq, revokedBefore: null });
    expect(consumer.check({ jti: 'e2e-every' }).revoked).toBe(true);
  });

  it('allows the token again once an admin reinstates the rule (rule.removed)', async () => {
    const rule = await revoke('operator', {
      rules: [
        {
          claim: 'sub',
          value: 'e2e-reinstated',
          iss: ISS,
          revokedBefore: new Date(R).toISOString(),
        },
      ],
    });
    const token = { sub: 'e2e-reinstated', iss: ISS, iat: R_SECONDS - 600 };
    await waitFor('the rule at the enforcement point', () => consumer.check(token).revoked);

    const reinstated = await call<RuleResource>(
      h.writer,
      'POST',
      `/v1/revocations/${rule.id}/reinstate`,
      {
        token: h.tokens.admin,
        body: { reason: 'wrong person' },
      },
    );
    expect(reinstated.status).toBe(200);
    await waitFor('the token to be allowed again', () => !consumer.check(token).revoked);
    await applied(reinstated.body.seq);
    expect(consumer.check({ ...token, iat: 0 }).revoked).toBe(false);
    expect(consumer.check({ sub: 'e2e-reinstated', iss: ISS }).revoked).toBe(false);
  });

  it('keeps revoking only tokens before the lowered instant once an admin lowers the rule', async () => {
    const lowered = R - 3_600_000;
    const rule = await revoke('operator', {
      rules: [
        { claim: 'client_id', value: 'e2e-lowered', revokedBefore: new Date(R).toISOString() },
      ],
    });
    const between = { client_id: 'e2e-lowered', iat: lowered / 1000 + 60 };
    await waitFor('the rule at the enforcement point', () => consumer.check(between).revoked);

    const response = await call<RuleResource>(
      h.writer,
      'POST',
      `/v1/revocations/${rule.id}/reinstate`,
      {
        token: h.tokens.admin,
        body: {
          reason: 'the compromise began later',
          revokedBefore: new Date(lowered).toISOString(),
        },
      },
    );
    expect(response.status).toBe(200);
    await waitFor(
      'a token issued after the lowered instant to be allowed',
      () => !consumer.check(between).revoked,
    );
    await applied(response.body.seq);
    const decision = consumer.check({ client_id: 'e2e-lowered', iat: lowered / 1000 - 1 });
    expect(decision.revoked && decision.rule).toMatchObject({
      seq: response.body.seq,
      revokedBefore: lowered,
    });
    expect(consumer.check({ client_id: 'e2e-lowered', iat: lowered / 1000 }).revoked).toBe(false);
  });
});
