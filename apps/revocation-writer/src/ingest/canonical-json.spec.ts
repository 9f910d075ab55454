import { canonicalJson, eventSha256 } from './canonical-json';

describe(canonicalJson.name, () => {
  it('sorts keys at every level and drops undefined members', () => {
    expect(canonicalJson({ b: 1, a: { d: [2, { f: 1, e: 0 }], c: undefined } })).toBe(
      '{"a":{"d":[2,{"e":0,"f":1}]},"b":1}',
    );
  });

  it('gives equal fingerprints to equal content and different ones to different content', () => {
    expect(eventSha256({ id: 'e1', subject: 'alice' })).toBe(
      eventSha256({ subject: 'alice', id: 'e1' }),
    );
    expect(eventSha256({ id: 'e1', subject: 'alice' })).not.toBe(
      eventSha256({ id: 'e1', subject: 'bob' }),
    );
  });
});
