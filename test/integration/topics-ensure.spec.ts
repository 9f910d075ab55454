import { topicSpecs } from '@rescind/contracts';
import { type Admin, ConfigResourceTypes, Kafka, logLevel } from 'kafkajs';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { runCli } from '../../apps/revocation-writer/src/admin/admin-commands';
import { kafkaVersion } from '../../tools/kafka/broker';
import { sharedBrokers, testTopics } from '../support/kafka';

/** Topic configs as the broker reports them, for the given names. */
async function configsOf(admin: Admin, topic: string): Promise<Map<string, string>> {
  const { resources } = await admin.describeConfigs({
    includeSynonyms: false,
    resources: [{ type: ConfigResourceTypes.TOPIC, name: topic }],
  });
  return new Map(resources[0]!.configEntries.map((e) => [e.configName, e.configValue]));
}

/**
 * `rescind-admin topics ensure`: the one way topics come into being, in tests, the demo, the
 * development broker and docker-compose.
 */
describe('rescind-admin topics ensure', () => {
  const topics = testTopics('ensure');
  const env = { KAFKA_BROKERS: sharedBrokers().join(','), ...topics.writerEnv };
  let admin: Admin;

  beforeAll(async () => {
    admin = new Kafka({ brokers: sharedBrokers(), logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
  });

  afterAll(async () => {
    await admin?.deleteTopics({ topics: Object.values(topics.names) }).catch(() => undefined);
    await admin?.disconnect();
  });

  it('creates every configured topic with its partitions and configs', async () => {
    const output = await runCli(['topics', 'ensure'], env);
    const outcomes = output.split('\n').map((line) => JSON.parse(line) as { outcome: string });
    expect(outcomes.map((o) => o.outcome)).toEqual(Array(5).fill('created'));

    const { topics: metadata } = await admin.fetchTopicMetadata({
      topics: Object.values(topics.names),
    });
    const spec = topicSpecs(topics.names);
    for (const s of spec) {
      expect(metadata.find((t) => t.name === s.name)?.partitions).toHaveLength(s.partitions);
      const configs = await configsOf(admin, s.name);
      for (const [name, value] of Object.entries(s.configs)) {
        expect([s.name, name, configs.get(name)]).toEqual([s.name, name, value]);
      }
    }
    const invalidations = await configsOf(admin, topics.names.invalidations);
    expect(invalidations.get('cleanup.policy')).toBe('compact');
  });

  it('sets drifted configs back to the spec, keeps an operator override, and leaves partitions alone', async () => {
    const topic = topics.names.invalidations;
    await admin.alterConfigs({
      validateOnly: false,
      resources: [
        {
          type: ConfigResourceTypes.TOPIC,
          name: topic,
          configEntries: [
            { name: 'cleanup.policy', value: 'delete' },
            { name: 'max.message.bytes', value: '200000' },
          ],
        },
      ],
    });
    await admin.createPartitions({ topicPartitions: [{ topic, count: 8 }] });

    const output = await runCli(['topics', 'ensure'], env);
    const outcome = output
      .split('\n')
      .map((line) => JSON.parse(line) as { topic: string; outcome: string; warnings?: string[] })
      .find((o) => o.topic === topic)!;
    expect(outcome.outcome).toBe('configs-updated');
    expect(outcome.warnings).toEqual([expect.stringContaining('has 8 partitions where 6')]);

    const configs = await configsOf(admin, topic);
    expect(configs.get('cleanup.policy')).toBe('compact');
    expect(configs.get('min.compaction.lag.ms')).toBe(String(15 * 60_000));
    expect(configs.get('max.message.bytes')).toBe('200000');

    const again = await runCli(['topics', 'ensure'], env);
    expect(
      again.split('\n').map((line) => (JSON.parse(line) as { outcome: string }).outcome),
    ).toEqual(Array(5).fill('unchanged'));
  });

  it('runs the same Apache Kafka version as docker-compose, which creates its topics with this command', () => {
    const compose = readFileSync(path.join(__dirname, '../../docker-compose.yml'), 'utf8');
    const images = [...compose.matchAll(/image: apache\/kafka:(\S+)/g)].map((m) => m[1]);
    expect(images.length).toBeGreaterThan(0);
    expect(new Set(images)).toEqual(new Set([kafkaVersion()]));
    expect(compose).toMatch(/cli\.js['"]?,\s*['"]topics['"],\s*['"]ensure['"]/);
  });
});
