import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { RuleVersion } from '@rescind/rules';
import { loadList, saveList } from './persistence';

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

describe('deny-list persistence', () => {
  let file: string;
  beforeEach(async () => {
    file = path.join(await mkdtemp(path.join(tmpdir(), 'rescind-')), 'list.json');
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
    await saveList(
      file,
      'topic-a',
      [version(), removed],
      new Map([
        [0, 12n],
        [1, 3n],
      ]),
    );
    const loaded = await loadList(file, 'topic-a');
    expect(loaded?.offsets).toEqual(
      new Map([
        [0, 12n],
        [1, 3n],
      ]),
    );
    expect(loaded?.events.map((e) => [e.type, e.key, e.seq])).toEqual([
      ['rule.set', 'sub::alice', 7],
      ['rule.removed', 'jti::t1', 9],
    ]);
  });

  it('returns undefined when there is no file', async () => {
    expect(await loadList(file, 'topic-a')).toBeUndefined();
  });

  it('refuses a corrupt, foreign or other-topic file', async () => {
    await saveList(file, 'topic-a', [version()], new Map());
    const text = await readFile(file, 'utf8');
    await writeFile(file, text.replace('"alice"', '"mallory"'));
    await expect(loadList(file, 'topic-a')).rejects.toThrow(/checksum/);
    await writeFile(file, '{"format": "something-else"}');
    await expect(loadList(file, 'topic-a')).rejects.toThrow(/not a rescind-deny-list/);
    await saveList(file, 'topic-a', [version()], new Map());
    await expect(loadList(file, 'topic-b')).rejects.toThrow(/topic/);
  });
});
