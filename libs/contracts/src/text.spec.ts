import { storableText, unstorableText } from './text';

describe(unstorableText.name, () => {
  it('accepts what PostgreSQL stores and reads back as sent, astral characters and NFD included', () => {
    for (const text of [
      'alice',
      'José',
      'Jose\u0301',
      '漢字',
      '😀 \ud83d\ude00',
      '\t\n\u0001',
      '',
    ]) {
      expect(unstorableText(text)).toBeUndefined();
    }
  });

  it('refuses U+0000, which PostgreSQL text cannot hold, naming where it is', () => {
    expect(unstorableText('a\u0000b')).toBe(
      'must not contain U+0000 (NUL, at index 1): PostgreSQL cannot store it',
    );
  });

  it.each([
    ['a high surrogate without its low half', 'a\ud800b', 'U+D800 at index 1'],
    ['a high surrogate at the end', 'ab\udbff', 'U+DBFF at index 2'],
    ['a low surrogate without its high half', '\udc00', 'U+DC00 at index 0'],
    ['two high surrogates before one low', '\ud800\ud800\udc00', 'U+D800 at index 0'],
  ])('refuses a lone surrogate (%s), which would be stored as U+FFFD', (_, text, where) => {
    expect(unstorableText(text)).toBe(
      `must not contain a lone surrogate (${where}): it is not Unicode text, and would be stored as U+FFFD instead of what was sent`,
    );
  });
});

describe(storableText.name, () => {
  const schema = storableText({ max: 5 });

  it('keeps the text exactly as sent (no trimming, no normalisation)', () => {
    expect(storableText({ max: 6 }).parse(' Jose\u0301')).toBe(' Jose\u0301');
  });

  it('reports the NUL as its own issue, besides the length', () => {
    const issues = schema.safeParse('a\u0000bcdef').error?.issues.map((i) => i.message);
    expect(issues).toEqual([
      expect.stringMatching(/^Too big/),
      'must not contain U+0000 (NUL, at index 1): PostgreSQL cannot store it',
    ]);
  });

  it('is not empty unless asked, and trims free text when asked before it measures', () => {
    expect(schema.safeParse('').success).toBe(false);
    expect(storableText({ max: 3, min: 0 }).parse('')).toBe('');
    expect(storableText({ max: 3, trim: true }).parse('  abc  ')).toBe('abc');
    expect(storableText({ max: 3, trim: true }).safeParse('   ').success).toBe(false);
  });
});
