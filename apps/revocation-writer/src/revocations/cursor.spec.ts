import { decodeCursor, encodeCursor } from './cursor';
import { InvalidQueryError } from './errors';

describe(encodeCursor.name, () => {
  it('round-trips a position, opaque and URL-safe', () => {
    const cursor = encodeCursor('rules', 9_007_199_254_740_991);
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeCursor('rules', cursor)).toBe(9_007_199_254_740_991);
  });

  it.each([
    ['garbage', 'not a cursor'],
    ['another listing', encodeCursor('audit', 5)],
    ['a non-integer position', Buffer.from('{"k":"rules","p":1.5}').toString('base64url')],
    ['a position below 1', Buffer.from('{"k":"rules","p":0}').toString('base64url')],
    ['JSON null', Buffer.from('null').toString('base64url')],
  ])('refuses %s with a 400 naming the cursor', (_, cursor) => {
    expect(() => decodeCursor('rules', cursor)).toThrow(InvalidQueryError);
    expect(() => decodeCursor('rules', cursor)).toThrow(/cursor:/);
  });
});
