import { type InvalidationEventV1, ruleKey } from '@rescind/contracts';
import fc from 'fast-check';
import { tokenClaim, tokenClient } from './claims';
import { DenyList } from './deny-list';

describe(tokenClient.name, () => {
  it('reads client_id, else azp', () => {
    expect(tokenClient({ client_id: 'a', azp: 'b' })).toBe('a');
    expect(tokenClient({ azp: 'b' })).toBe('b');
    expect(tokenClient({ sub: 'alice' })).toBeUndefined();
    expect(tokenClient({ client_id: 42 })).toBeUndefined();
  });

  it('does not fall back to azp when client_id is present but not a string', () => {
    expect(tokenClient({ client_id: 42, azp: 'b' })).toBeUndefined();
  });
});

describe(tokenClaim.name, () => {
  it('reads the claim of that name if it is a string, and the client for client_id', () => {
    expect(tokenClaim({ sub: 'alice', azp: 'app' }, 'sub')).toBe('alice');
    expect(tokenClaim({ sub: 'alice', azp: 'app' }, 'client_id')).toBe('app');
    expect(tokenClaim({ sub: 42 }, 'sub')).toBeUndefined();
    expect(tokenClaim({ device_id: 'd1' }, 'device_id')).toBe('d1');
    expect(tokenClaim({}, 'jti')).toBeUndefined();
  });

  it('names the value DenyList.check matches: a rule on (claim, v) revokes exactly when tokenClaim is v', () => {
    const claimNames = ['sub', 'jti', 'sid', 'client_id', 'azp', 'kid', 'token_hash', 'device_id'];
    const claimValue = fc.oneof(
      fc.constantFrom('a', 'b'),
      fc.constantFrom(undefined, null, 7, ['a']),
    );
    fc.assert(
      fc.property(
        fc.dictionary(fc.constantFrom(...claimNames), claimValue),
        fc.constantFrom('sub', 'jti', 'sid', 'client_id', 'kid', 'token_hash', 'device_id'),
        fc.constantFrom('a', 'b'),
        (claims, claim, value) => {
          const list = new DenyList();
          const event: InvalidationEventV1 = {
            v: 1,
            type: 'rule.set',
            key: ruleKey({ claim, value, iss: null }),
            seq: 1,
            revocationId: '00000000-0000-4000-8000-000000000001',
            committedAt: 0,
            rule: { claim, value, iss: null, revokedBefore: null, expiresAt: null },
          };
          list.apply(event);
          expect(list.check(claims).revoked).toBe(tokenClaim(claims, claim) === value);
        },
      ),
    );
  });
});
