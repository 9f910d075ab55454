import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { type InvalidationEventV1, InvalidationEventV1Schema } from '@rescind/contracts';
import { DenyList, type RuleVersion } from '@rescind/rules';
import { RevocationConsumerError, type RevocationConsumerErrorCode } from './errors';
import { loadList, saveList, versionLine } from './persistence';

const version = (over: Partial<RuleVersion> = {}): RuleVersion => ({
  key: 'sub::alice',
  claim: 'sub',
  value: 'alice',
  iss: null,
  revokedBefore: 1000,
  expiresAt: 5000,
  seq: 7,
  revocationId: '00000000-0000-4000-8000-000000000007',
  removed: false,
  ...over,
});

/** Loads into an array, as a list would be loaded. */
async function load(file: string, topic: string) {
  const events: InvalidationEventV1[] = [];
  const saved = await loadList(file, topic, (event) => events.push(event));
  return { saved, events };
}

describe('deny-list persistence', () => {
  let file: string;
  beforeEach(async () => {
    file = path.join(await mkdtemp(path.join(tmpdir(), 'rescind-')), 'list.jsonl');
  });

  it('saves and loads rules, removal markers and offsets', async () => {
    const removed = version({
      key: 'jti::t1',
      claim: 'jti',
      value: 't1',
      removed: true,
      seq: 9,
      revokedBefore: null,
    });
    const offsets = new Map([
      [0, 12n],
      [1, 3n],
    ]);
    expect(await saveList(file, 'topic-a', [version(), removed], offsets)).toBe(2);
    const { saved, events } = await load(file, 'topic-a');
    expect(saved).toMatchObject({ topic: 'topic-a', offsets, rules: 2 });
    expect(events.map((e) => [e.type, e.key, e.seq])).toEqual([
      ['rule.set', 'sub::alice', 7],
      ['rule.removed', 'jti::t1', 9],
    ]);
  });

  it('writes each version as the invalidation event that recreates it', () => {
    const odd = version({ value: 'a "quoted"\\ välue\n', iss: 'https://idp.example', seq: 3 });
    expect(JSON.parse(versionLine(odd, 42))).toEqual({
      v: 1,
      type: 'rule.set',
      key: odd.key,
      seq: 3,
      revocationId: odd.revocationId,
      committedAt: 42,
      rule: {
        claim: 'sub',
        value: 'a "quoted"\\ välue\n',
        iss: 'https://idp.example',
        revokedBefore: 1000,
        expiresAt: 5000,
      },
    });
    const marker = version({ removed: true, revokedBefore: null, expiresAt: null });
    expect(JSON.parse(versionLine(marker, 42))).toEqual({
      v: 1,
      type: 'rule.removed',
      key: marker.key,
      seq: 7,
      revocationId: marker.revocationId,
      committedAt: 42,
      rule: { claim: 'sub', value: 'alice', iss: null },
      expiresAt: null,
    });
  });

  it("keeps a rule's auth_time cutoff across a save and a load", async () => {
    const list = new DenyList();
    const line = versionLine(version({ cutoff: 'auth_time' }), 0);
    list.apply(InvalidationEventV1Schema.parse(JSON.parse(line)));
    expect(await saveList(file, 'topic-a', list.versions(), new Map())).toBe(1);
    const loaded = new DenyList();
    await loadList(file, 'topic-a', (event) => loaded.apply(event));
    expect(loaded.get('sub', 'alice', null)).toMatchObject({ cutoff: 'auth_time' });
    // A token refreshed after the cutoff from a login before it: revoked by the loaded list.
    expect(loaded.check({ sub: 'alice', iat: 10, auth_time: 0 }).revoked).toBe(true);
  });

  it('round-trips a list of many rules (several write chunks), non-ASCII values included', async () => {
    const list = new DenyList();
    for (let i = 0; i < 20_000; i += 1) {
      const value = i % 7 === 0 ? `usér-${i}-✓` : `user-${i}`;
      const line = versionLine(version({ key: `sub::${value}`, value, seq: i + 1 }), 0);
      list.apply(InvalidationEventV1Schema.parse(JSON.parse(line)));
    }
    expect(await saveList(file, 'topic-a', list.versions(), new Map())).toBe(20_000);
    const loaded = new DenyList();
    const saved = await loadList(file, 'topic-a', (event) => loaded.apply(event));
    expect(saved?.rules).toBe(20_000);
    expect([...loaded.versions()].sort((a, b) => a.seq - b.seq)).toEqual(
      [...list.versions()].sort((a, b) => a.seq - b.seq),
    );
  });

  it('returns undefined when there is no file', async () => {
    expect((await load(file, 'topic-a')).saved).toBeUndefined();
  });

  it('refuses an edited, truncated, foreign or other-topic file', async () => {
    await saveList(
      file,
      'topic-a',
      [version(), version({ key: 'sub::bob', value: 'bob' })],
      new Map(),
    );
    const text = await readFile(file, 'utf8');

    await writeFile(file, text.replace('"alice"', '"mallory"'));
    await expect(load(file, 'topic-a')).rejects.toThrow(/checksum/);

    const lines = text.trimEnd().split('\n');
    await writeFile(file, `${lines.slice(0, -1).join('\n')}\n`); // the end line is lost
    await expect(load(file, 'topic-a')).rejects.toThrow(/truncated/);
    await writeFile(file, text.slice(0, text.indexOf('"bob"'))); // cut inside a rule
    await expect(load(file, 'topic-a')).rejects.toThrow(/not JSON/);
    await writeFile(file, [lines[0], lines[1], lines[3]].join('\n')); // a rule line dropped
    await expect(load(file, 'topic-a')).rejects.toThrow(/checksum/);
    await writeFile(file, `${text}${lines[1]}\n`); // data after the end line
    await expect(load(file, 'topic-a')).rejects.toThrow(/after the end/);

    await writeFile(file, '{"format": "something-else"}\n');
    await expect(load(file, 'topic-a')).rejects.toThrow(/not a rescind-deny-list/);
    await writeFile(file, text.replace('"version":2', '"version":1'));
    await expect(load(file, 'topic-a')).rejects.toThrow(/not a rescind-deny-list version 2/);
    await writeFile(file, '');
    await expect(load(file, 'topic-a')).rejects.toThrow(/empty/);

    await writeFile(file, text);
    await expect(load(file, 'topic-b')).rejects.toThrow(/topic/);
    await expect(load(file, 'topic-a')).resolves.toMatchObject({ saved: { rules: 2 } });
  });

  it('leaves the previous file in place when a save fails', async () => {
    await saveList(file, 'topic-a', [version()], new Map());
    const before = await readFile(file, 'utf8');
    function* failing(): Generator<RuleVersion> {
      yield version({ key: 'sub::bob', value: 'bob' });
      throw new Error('disk on fire');
    }
    await expect(saveList(file, 'topic-a', failing(), new Map())).rejects.toThrow(/disk on fire/);
    expect(await readFile(file, 'utf8')).toBe(before);
    expect(await readdir(path.dirname(file))).toEqual(['list.jsonl']); // no temporary file left
  });
});

describe('deny-list persistence: what it throws', () => {
  let dir: string;
  let file: string;
  let text: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'rescind-'));
    file = path.join(dir, 'list.jsonl');
    await saveList(
      file,
      'topic-a',
      [version(), version({ key: 'sub::bob', value: 'bob' })],
      new Map(),
    );
    text = await readFile(file, 'utf8');
  });

  const failure = (promise: Promise<unknown>) =>
    promise.then(
      () => {
        throw new Error('it succeeded');
      },
      (error: unknown) => error as RevocationConsumerError,
    );

  it.each<[string, RevocationConsumerErrorCode, (text: string) => string, RegExp]>([
    [
      'an edited rule',
      'persisted_list_corrupt',
      (t) => t.replace('"alice"', '"mallory"'),
      /checksum/,
    ],
    [
      'a lost end line',
      'persisted_list_corrupt',
      (t) => `${t.trimEnd().split('\n').slice(0, -1).join('\n')}\n`,
      /truncated/,
    ],
    [
      'a rule cut short',
      'persisted_list_corrupt',
      (t) => t.slice(0, t.indexOf('"bob"')),
      /not JSON/,
    ],
    [
      'a line that is not a rule version',
      'persisted_list_corrupt',
      (t) => t.replace(/\n[^\n]*"bob"[^\n]*\n/, '\n{"v":1}\n'),
      /line 3: not a rule version/,
    ],
    [
      'an invalid end line',
      'persisted_list_corrupt',
      (t) => t.replace(/"rules":2/, '"rules":-2'),
      /not a valid end line/,
    ],
    ['data after the end line', 'persisted_list_corrupt', (t) => `${t}{}\n`, /after the end/],
    ['an empty file', 'persisted_list_corrupt', () => '', /empty/],
    [
      'another format',
      'persisted_list_foreign',
      () => '{"format": "something-else"}\n',
      /not a rescind-deny-list/,
    ],
    [
      'another format version',
      'persisted_list_foreign',
      (t) => t.replace('"version":2', '"version":1'),
      /version 2/,
    ],
  ])('%s: %s', async (_case, code, edit, message) => {
    await writeFile(file, edit(text));
    const error = await failure(loadList(file, 'topic-a', () => undefined));
    expect(error).toBeInstanceOf(RevocationConsumerError);
    expect(error.code).toBe(code);
    expect(error.message).toMatch(message);
  });

  it('a list saved for another topic: persisted_list_foreign', async () => {
    const error = await failure(loadList(file, 'topic-b', () => undefined));
    expect(error).toBeInstanceOf(RevocationConsumerError);
    expect(error).toMatchObject({
      code: 'persisted_list_foreign',
      message: 'saved for topic topic-a, not topic-b',
    });
  });

  it('a path that cannot be read: persisted_list_unreadable, with the file system error as cause', async () => {
    const error = await failure(loadList(dir, 'topic-a', () => undefined));
    expect(error).toBeInstanceOf(RevocationConsumerError);
    expect(error.code).toBe('persisted_list_unreadable');
    expect(error.message).toMatch(`cannot read ${dir}: EISDIR`);
    expect(error.cause).toMatchObject({ code: 'EISDIR' });
  });

  it('a save that fails: persisted_list_unwritable, with the underlying error as cause', async () => {
    const missingDir = path.join(dir, 'missing', 'list.jsonl');
    const unopened = await failure(saveList(missingDir, 'topic-a', [version()], new Map()));
    expect(unopened).toBeInstanceOf(RevocationConsumerError);
    expect(unopened.code).toBe('persisted_list_unwritable');
    expect(unopened.message).toMatch(`could not save the deny-list to ${missingDir}: ENOENT`);
    expect(unopened.cause).toMatchObject({ code: 'ENOENT' });

    function* failing(): Generator<RuleVersion> {
      yield version();
      throw new Error('disk on fire');
    }
    const midway = await failure(saveList(file, 'topic-a', failing(), new Map()));
    expect(midway).toMatchObject({ code: 'persisted_list_unwritable' });
    expect((midway.cause as Error).message).toBe('disk on fire');
  });
});
