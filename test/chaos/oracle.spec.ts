import {
  type Acknowledgement,
  describeVerdict,
  type EnforcementState,
  type History,
  judge,
  type Sample,
  type StoreState,
} from '../support/chaos/oracle';

/**
 * The chaos tier's oracle can fail: every count it asserts to be zero in the fault specs is shown
 * here to be non-zero on a history that breaks the promise it stands for, and zero on one that
 * keeps it (so a fault spec's zero means something).
 */
describe('the chaos oracle', () => {
  const T = 1_800_000_000_000;
  const ack = (n: number, over: Partial<Acknowledgement> = {}): Acknowledgement => ({
    source: 'hr',
    eventId: `e-${n}`,
    key: `sub::u-${n}`,
    via: 'http',
    ackedAt: T + n * 10,
    seq: n,
    ...over,
  });
  const rule = (n: number, seq = n, status = 'active') => ({
    key: `sub::u-${n}`,
    seq,
    status,
    claim: 'sub',
    value: `u-${n}`,
    iss: null,
  });
  const consistentStore = (ns: number[]): StoreState => ({
    rules: ns.map((n) => rule(n)),
    processedEvents: ns.map((n) => ({ source: 'hr', eventId: `e-${n}` })),
    versions: ns.map((n) => ({
      key: `sub::u-${n}`,
      seq: n,
      source: 'hr',
      sourceEventId: `e-${n}`,
    })),
    unpublished: 0,
  });
  const holdingAll = (name: string, ns: number[]): EnforcementState => ({
    name,
    held: new Map(ns.map((n) => [`sub::u-${n}`, n])),
  });
  const healthy = (): History => ({
    acks: [ack(1), ack(2), ack(3)],
    store: consistentStore([1, 2, 3]),
    enforcement: [holdingAll('a', [1, 2, 3]), holdingAll('b', [1, 2, 3])],
    samples: [],
  });

  it('finds nothing wrong in a history that keeps every promise', () => {
    const history = healthy();
    // Allowed while fresh, but acknowledged after the proof's instant: not yet promised.
    history.samples = [
      { ep: 'a', at: T + 100, fresh: true, stalenessMs: 80, allowed: ['sub::u-3'] },
      // Stale: the policy answers, no promise.
      { ep: 'a', at: T + 5000, fresh: false, stalenessMs: 4000, allowed: ['sub::u-1'] },
    ];
    const verdict = judge(history);
    expect([verdict.lost, verdict.duplicated, verdict.wronglyAllowed]).toEqual([0, 0, 0]);
    expect(describeVerdict('healthy', verdict)).toContain('lost=0 duplicated=0 wronglyAllowed=0');
  });

  it('counts an acknowledged revocation missing from PostgreSQL as lost', () => {
    const history = healthy();
    history.store = consistentStore([1, 3]);
    history.enforcement = [holdingAll('a', [1, 3]), holdingAll('b', [1, 3])];
    const verdict = judge(history);
    expect(verdict.lost).toBe(1);
    expect(verdict.lostItems).toEqual([
      { where: 'store', key: 'sub::u-2', eventId: 'e-2', why: 'no processed_event row' },
    ]);
  });

  it('counts a rule stored at an older version than acknowledged, or no longer active, as lost', () => {
    const history = healthy();
    history.store.rules = [rule(1, 1, 'reinstated'), rule(2, 1), rule(3)];
    history.enforcement = [holdingAll('a', [3])];
    const verdict = judge(history);
    expect(verdict.lostItems.map((l) => [l.where, l.key, l.why])).toEqual([
      ['store', 'sub::u-1', 'rule is reinstated'],
      ['store', 'sub::u-2', 'rule at seq 1, acknowledged at 2'],
      ['a', 'sub::u-2', 'not held (store: seq 1)'],
    ]);
    expect(verdict.lost).toBe(3);
  });

  it('counts every enforcement point that misses a stored rule, or holds an older version, as lost', () => {
    const history = healthy();
    history.enforcement = [
      holdingAll('a', [1, 3]),
      {
        name: 'b',
        held: new Map([
          ['sub::u-1', 1],
          ['sub::u-2', 2],
          ['sub::u-3', 2],
        ]),
      },
    ];
    const verdict = judge(history);
    expect(verdict.lostItems.map((l) => [l.where, l.key])).toEqual([
      ['a', 'sub::u-2'],
      ['b', 'sub::u-3'],
    ]);
    expect(verdict.lost).toBe(2);
  });

  it('counts a committed but unacknowledged rule missing at an enforcement point as lost', () => {
    const history = healthy();
    history.store = consistentStore([1, 2, 3, 4]); // 4: committed, its answer never arrived
    const verdict = judge(history);
    expect(verdict.lostItems.map((l) => [l.where, l.key])).toEqual([
      ['a', 'sub::u-4'],
      ['b', 'sub::u-4'],
    ]);
  });

  it('counts an event applied twice, and answers naming two seqs, as duplicated', () => {
    const history = healthy();
    history.store.versions.push({ key: 'sub::u-2', seq: 7, source: 'hr', sourceEventId: 'e-2' });
    history.acks.push(ack(3, { seq: 9, ackedAt: T + 500 }));
    const verdict = judge(history);
    expect(verdict.duplicateItems).toEqual([
      { source: 'hr', eventId: 'e-2', surplus: 1, why: '2 rule versions journaled, 1 expected' },
      { source: 'hr', eventId: 'e-3', surplus: 1, why: 'answers named seqs 3, 9' },
    ]);
    expect(verdict.duplicated).toBe(2);
    // The same event answered twice with the same seq (a retry answered as a duplicate) is fine.
    const retried = healthy();
    retried.acks.push(ack(1, { ackedAt: T + 900 }));
    expect(judge(retried).duplicated).toBe(0);
  });

  it('counts a token allowed while fresh, though its revocation was acknowledged before the proof, as wrongly allowed', () => {
    const history = healthy();
    const samples: Sample[] = [
      // u-1 acknowledged at T+10; the proof covers up to T+1000-200 = T+800: must be denied.
      { ep: 'a', at: T + 1000, fresh: true, stalenessMs: 200, allowed: ['sub::u-1', 'sub::u-9'] },
      { ep: 'a', at: T + 1050, fresh: true, stalenessMs: 250, allowed: ['sub::u-1'] },
      // u-3 acknowledged at T+30, proof up to T+25: not promised yet.
      { ep: 'b', at: T + 45, fresh: true, stalenessMs: 20, allowed: ['sub::u-3'] },
      // Allowed while stale: the policy's business, not counted.
      { ep: 'b', at: T + 1000, fresh: false, stalenessMs: 10, allowed: ['sub::u-1'] },
    ];
    history.samples = samples;
    const verdict = judge(history);
    expect(verdict.wronglyAllowed).toBe(2);
    expect(verdict.wrongAllowItems).toEqual([
      { ep: 'a', key: 'sub::u-1', at: T + 1000, stalenessMs: 200, provenForMs: 790 },
    ]);
    expect(describeVerdict('broken', verdict)).toContain('wronglyAllowed=2');
  });

  it('judges Kafka acknowledgements by when the commit was seen, never by the producer acknowledgement', () => {
    const history = healthy();
    history.acks = [ack(1, { via: 'kafka', seq: undefined, ackedAt: T })];
    history.store = consistentStore([1]);
    history.enforcement = [holdingAll('a', [1])];
    history.samples = [
      { ep: 'a', at: T + 1000, fresh: true, stalenessMs: 100, allowed: ['sub::u-1'] },
    ];
    // Produced at T, but not seen committed: nothing proves when the writer took it.
    expect(judge(history).wronglyAllowed).toBe(0);
    // Seen committed at T+850, before the proof's instant T+900: it was promised.
    history.committedSeenAt = new Map([['sub::u-1', T + 850]]);
    expect(judge(history).wronglyAllowed).toBe(1);
    history.committedSeenAt = new Map([['sub::u-1', T + 950]]);
    expect(judge(history).wronglyAllowed).toBe(0);
  });
});
