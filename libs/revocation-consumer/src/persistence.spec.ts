import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { type InvalidationEventV1, InvalidationEventV1Schema } from '@rescind/contracts';
import { DenyList, type RuleVersion } from '@rescind/rules';
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
