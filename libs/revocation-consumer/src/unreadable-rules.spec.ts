import { createHash, randomUUID } from 'node:crypto';
import { InvalidationEventV1Schema, ruleKey } from '@rescind/contracts';
import { DenyList } from '@rescind/rules';
import {
  heldRevocation,
  issueReason,
  keptEvent,
  unreadableLine,
  UnreadableRules,
} from './unreadable-rules';

const sha256 = (data: string | Buffer): string => createHash('sha256').update(data).digest('hex');

const ruleSet = (value: string, seq: number, expiresAt: number | null = null) => ({
  v: 1 as const,
  type: 'rule.set' as const,
  key: ruleKey({ claim: 'sub', value, iss: 'https://idp.example' }),
  seq,
  revocationId: randomUUID(),
  committedAt: 1_000,
  rule: { claim: 'sub', value, iss: 'https://idp.example', revokedBefore: 2_000, expiresAt },
});

describe(unreadableLine.name, () => {
  it("names a line by its envelope's key, else by the record key, and always by its SHA-256", () => {
    const value = Buffer.from('{"key":"sub::alice","rule":42}');
    expect(unreadableLine(value, { key: 'sub::alice' }, 'r', Buffer.from('sub::other'))).toEqual({
      reason: 'r',
      key: 'sub::alice',
      sha256: sha256(value),
    });
    expect(unreadableLine('{}', { key: 42 }, 'r', Buffer.from('sub::bob')).key).toBe('sub::bob');
    expect(unreadableLine('x', undefined, 'r').key).toBeNull();
  });

  it('takes no key that is not a readable string: a number, an empty key, bytes that are not UTF-8', () => {
    expect(unreadableLine('{}', { key: 7 }, 'r').key).toBeNull();
    expect(unreadableLine('{}', { key: '' }, 'r', Buffer.alloc(0)).key).toBeNull();
    expect(unreadableLine('{}', null, 'r', Buffer.from([0xff, 0xfe, 0x00])).key).toBeNull();
  });

  it('cuts a long reason short', () => {
    expect(unreadableLine('x', undefined, 'e'.repeat(1000)).reason).toHaveLength(301);
  });
});

describe(issueReason.name, () => {
  it('says where the first violation is and what was expected, never the value received', () => {
    const bad = {
      ...ruleSet('alice', 3),
      rule: { ...ruleSet('alice', 3).rule, value: 'x'.repeat(2000) },
    };
    const parsed = InvalidationEventV1Schema.safeParse(bad);
    expect(parsed.success).toBe(false);
    const reason = issueReason(parsed.error!);
    expect(reason).toMatch(/^rule\.value: /);
    expect(reason).not.toContain('xxxx');
  });
});

describe(heldRevocation.name, () => {
  it('finds the live version of a key: the one to keep enforcing when its update cannot be read', () => {
    const list = new DenyList();
    const alice = ruleSet('alice', 3);
    list.apply(alice);
    expect(heldRevocation(list, alice.key, 5_000)).toMatchObject({ key: alice.key, seq: 3 });
  });

  it('keeps nothing for a removal marker, an expired version, an unknown key or no key', () => {
    const list = new DenyList();
    const gone = ruleSet('gone', 4);
    list.apply(gone);
    list.apply({
      ...gone,
      type: 'rule.removed',
      seq: 5,
      rule: { claim: 'sub', value: 'gone', iss: gone.rule.iss },
      expiresAt: null,
    });
    const expired = ruleSet('expired', 6, 4_000);
    list.apply(expired);
    expect(heldRevocation(list, gone.key, 5_000)).toBeUndefined();
    expect(heldRevocation(list, expired.key, 5_000)).toBeUndefined();
    expect(heldRevocation(list, 'sub::nobody', 5_000)).toBeUndefined();
    expect(heldRevocation(list, 'not a rule key', 5_000)).toBeUndefined();
    expect(heldRevocation(list, null, 5_000)).toBeUndefined();
  });
});

describe(keptEvent.name, () => {
  it('carries a version into another list unchanged', () => {
    const from = new DenyList();
    const stored = from.apply(ruleSet('alice', 3))!;
    const to = new DenyList();
    expect(InvalidationEventV1Schema.safeParse(keptEvent(stored, 9_000)).success).toBe(true);
    expect(to.apply(keptEvent(stored, 9_000))).toEqual(stored);
  });

  it('keeps an auth_time cutoff', () => {
    const from = new DenyList();
    const event = ruleSet('alice', 3);
    const stored = from.apply(
      event.type === 'rule.set'
        ? { ...event, rule: { ...event.rule, cutoff: 'auth_time' } }
        : event,
    )!;
    expect(stored.cutoff).toBe('auth_time');
    expect(new DenyList().apply(keptEvent(stored, 9_000))).toEqual(stored);
  });
});

describe(UnreadableRules.name, () => {
  it('counts by source and reports the last one, with its key cut to 200 characters', () => {
    const counter = new UnreadableRules();
    expect(counter.status()).toEqual({
      count: 0,
      bySource: { snapshot: 0, stream: 0 },
      last: null,
    });
    const line = { reason: 'not JSON', key: `sub::${'k'.repeat(300)}`, sha256: 'ab' };
    counter.record('snapshot', 3, { ...line, at: 1, location: 'snapshot line 4', keptSeq: 7 });
    counter.record('stream', 1, { ...line, at: 2, location: 't/0@5', keptSeq: null });
    expect(counter.status()).toEqual({
      count: 4,
      bySource: { snapshot: 3, stream: 1 },
      last: {
        at: 2,
        source: 'stream',
        location: 't/0@5',
        reason: 'not JSON',
        key: `sub::${'k'.repeat(195)}…`,
        sha256: 'ab',
        keptSeq: null,
      },
    });
  });
});
