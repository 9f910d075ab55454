import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { ruleKey } from '@rescind/contracts';
import type { DenyList, RuleVersion } from '@rescind/rules';
import { bootstrap, type BootstrapSources } from './bootstrap';
import { RevocationConsumerError } from './errors';
import { saveList } from './persistence';
import type { PartitionEnds } from './start-position';
import { UnreadableRules } from './unreadable-rules';

const ends = new Map<number, PartitionEnds>([
  [0, { low: 0n, high: 10n }],
  [1, { low: 0n, high: 4n }],
]);

const version = (value: string, seq: number): RuleVersion => ({
  key: ruleKey({ claim: 'sub', value }),
  claim: 'sub',
  value,
  iss: null,
  revokedBefore: null,
  expiresAt: null,
  seq,
  revocationId: randomUUID(),
  removed: false,
});

const ruleLine = (value: string, seq: number): string =>
  JSON.stringify({
    v: 1,
    type: 'rule.set',
    key: ruleKey({ claim: 'sub', value }),
    seq,
    revocationId: randomUUID(),
    committedAt: 1_000,
    rule: { claim: 'sub', value, iss: null, revokedBefore: null, expiresAt: null },
  });

describe(bootstrap.name, () => {
  let server: Server;
  let snapshotUrl: string;
  /** What the snapshot endpoint answers next: a status, and a body for 200. */
  let answer: { status: number; lines: string[] } = { status: 503, lines: [] };
  let file: string;

  beforeAll(async () => {
    server = createServer((_request, response) => {
      response.writeHead(answer.status, { 'content-type': 'application/x-ndjson' });
      response.end(answer.lines.map((l) => `${l}\n`).join(''));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    snapshotUrl = `http://127.0.0.1:${(server.address() as { port: number }).port}/snapshot`;
  });

  afterAll(async () => {
    await new Promise<void>((resolve, reject) =>
      server.close((error) => (error ? reject(error) : resolve())),
    );
  });

  beforeEach(async () => {
    file = path.join(await mkdtemp(path.join(tmpdir(), 'rescind-bootstrap-')), 'list.jsonl');
    answer = { status: 503, lines: [] };
  });

  /** Sources reading `ends` and the test's file and server, recording what they are told. */
  const sources = (over: Partial<BootstrapSources> = {}) => {
    const seen = { warnings: [] as string[], failures: [] as unknown[], served: [] as DenyList[] };
    const bootstrapSources: BootstrapSources = {
      topic: 'topic-a',
      topicEnds: () => Promise.resolve(ends),
      logger: { info: () => undefined, warn: (m) => seen.warnings.push(m), error: () => undefined },
      unreadable: new UnreadableRules(),
      failed: (error) => seen.failures.push(error),
      serve: (list) => seen.served.push(list),
      ...over,
    };
    return { bootstrapSources, seen };
  };

  it('ignores a list saved for another topic (persisted_list_foreign) and reads the topic from its beginning', async () => {
    await saveList(file, 'topic-b', [version('alice', 1)], new Map([[0, 7n]]));
    const { bootstrapSources, seen } = sources({ persistPath: file });
    const partitions = await bootstrap(bootstrapSources, new AbortController().signal);
    expect(partitions).toEqual(
      new Map([
        [0, { from: 0n, catchUpTo: 9n }],
        [1, { from: 0n, catchUpTo: 3n }],
      ]),
    );
    expect(seen.served).toEqual([]);
    expect(seen.warnings).toEqual([
      `ignoring ${file}: RevocationConsumerError: saved for topic topic-b, not topic-a`,
    ]);
  });

  it('serves a valid saved list at once, and resumes it when the snapshot is unavailable', async () => {
    await saveList(file, 'topic-a', [version('alice', 1)], new Map([[0, 7n]]));
    const { bootstrapSources, seen } = sources({
      persistPath: file,
      snapshot: { url: snapshotUrl, token: 'rsk_test' },
    });
    const partitions = await bootstrap(bootstrapSources, new AbortController().signal);
    expect(seen.served).toHaveLength(1);
    expect(seen.served[0]!.check({ sub: 'alice', iat: 0 }).revoked).toBe(true);
    expect(partitions.get(0)).toEqual({ from: 7n, catchUpTo: 9n });
    expect(partitions.get(1)).toEqual({ from: 0n, catchUpTo: 3n }); // unknown to the saved list
    expect(seen.warnings).toEqual([
      'snapshot unavailable (RevocationConsumerError: snapshot request failed: HTTP 503); resuming from the saved list',
    ]);
  });

  it('replaces the saved list by the snapshot, and reads from the ends pinned before it', async () => {
    await saveList(file, 'topic-a', [version('alice', 1)], new Map([[0, 7n]]));
    answer = {
      status: 200,
      lines: [
        JSON.stringify({ v: 1, type: 'snapshot', watermark: 2, generatedAt: 1_000 }),
        ruleLine('bob', 2),
        JSON.stringify({ v: 1, type: 'snapshot.end', rules: 1 }),
      ],
    };
    const { bootstrapSources, seen } = sources({
      persistPath: file,
      snapshot: { url: snapshotUrl, token: 'rsk_test' },
    });
    const partitions = await bootstrap(bootstrapSources, new AbortController().signal);
    expect(seen.served).toHaveLength(2);
    const snapshot = seen.served[1]!;
    expect(snapshot.check({ sub: 'bob', iat: 0 }).revoked).toBe(true);
    expect(snapshot.check({ sub: 'alice', iat: 0 }).revoked).toBe(false);
    expect(partitions).toEqual(
      new Map([
        [0, { from: 10n, catchUpTo: null }],
        [1, { from: 4n, catchUpTo: null }],
      ]),
    );
  });

  it('without a saved list, retries an unavailable snapshot with jittered back-off until stopped (consumer_stopped)', async () => {
    const { bootstrapSources, seen } = sources({ snapshot: { url: snapshotUrl, token: 'x' } });
    const stopping = new AbortController();
    const started = bootstrap(bootstrapSources, stopping.signal);
    const failed = new Promise<void>((resolve) => {
      bootstrapSources.failed = (error) => {
        seen.failures.push(error);
        resolve();
      };
    });
    await failed;
    stopping.abort();
    const error = await started.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RevocationConsumerError);
    expect(error).toMatchObject({
      code: 'consumer_stopped',
      message: 'revocation consumer stopped before it was ready',
    });
    expect(seen.failures[0]).toMatchObject({ code: 'snapshot_unavailable' });
    // backoffDelay(1, { initialMs: 250 }): half of 250 fixed, half drawn at random.
    const delay = Number(/next in (\d+) ms/.exec(seen.warnings[0] ?? '')?.[1]);
    expect(delay).toBeGreaterThanOrEqual(125);
    expect(delay).toBeLessThanOrEqual(250);
    expect(seen.served).toEqual([]);
  });
});
