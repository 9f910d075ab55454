import type { TopicSpec } from '@rescind/contracts';
import { type Admin, ConfigResourceTypes } from 'kafkajs';

/** What `ensureTopics` did to one topic. */
export interface TopicOutcome {
  topic: string;
  outcome: 'created' | 'unchanged' | 'configs-updated';
  /** Configs that differed from the spec and were set to it: name -> [was, now]. */
  changed?: Record<string, [string | null, string]>;
  /** Problems that cannot be fixed automatically (a topic with fewer partitions). */
  warnings?: string[];
}

/**
 * Creates every topic of `specs` that is missing, with its partitions and configs, and sets the
 * configs of existing topics back to the spec. One function for tests, the demo, the development
 * broker and the docker-compose stack (`rescind-admin topics ensure`), so they all run the same
 * topics.
 *
 * Partition counts are never changed: adding partitions to a keyed topic moves keys to other
 * partitions, and a consumer could then apply an older version of a rule after a newer one on
 * another partition has been compacted away. A topic with another count is reported instead.
 *
 * Kafka's AlterConfigs replaces a topic's whole set of overrides, so the overrides a topic has
 * beyond the spec are read first and sent again: nothing an operator set is lost.
 */
export async function ensureTopics(admin: Admin, specs: TopicSpec[]): Promise<TopicOutcome[]> {
  const existing = new Set(await admin.listTopics());
  const missing = specs.filter((s) => !existing.has(s.name));
  if (missing.length > 0) {
    await admin.createTopics({
      waitForLeaders: true,
      topics: missing.map((s) => ({
        topic: s.name,
        numPartitions: s.partitions,
        configEntries: Object.entries(s.configs).map(([name, value]) => ({ name, value })),
      })),
    });
  }
  const outcomes: TopicOutcome[] = missing.map((s) => ({ topic: s.name, outcome: 'created' }));
  const present = specs.filter((s) => existing.has(s.name));
  if (present.length === 0) {
    return outcomes;
  }
  const { topics } = await admin.fetchTopicMetadata({ topics: present.map((s) => s.name) });
  const described = await admin.describeConfigs({
    includeSynonyms: false,
    resources: present.map((s) => ({ type: ConfigResourceTypes.TOPIC, name: s.name })),
  });
  for (const spec of present) {
    const warnings: string[] = [];
    const partitions = topics.find((t) => t.name === spec.name)?.partitions.length ?? 0;
    if (partitions !== spec.partitions) {
      warnings.push(
        `has ${partitions} partitions where ${spec.partitions} are specified; left as it is (repartitioning a keyed topic breaks per-key order)`,
      );
    }
    const entries =
      described.resources.find((r) => r.resourceName === spec.name)?.configEntries ?? [];
    // Overrides set on the topic itself (not broker or static defaults).
    const overrides = new Map(
      entries.filter((e) => !e.isDefault && !e.readOnly).map((e) => [e.configName, e.configValue]),
    );
    const current = new Map(entries.map((e) => [e.configName, e.configValue]));
    const changed: Record<string, [string | null, string]> = {};
    for (const [name, value] of Object.entries(spec.configs)) {
      if (current.get(name) !== value) {
        changed[name] = [current.get(name) ?? null, value];
      }
    }
    if (Object.keys(changed).length > 0) {
      const merged = new Map([...overrides, ...Object.entries(spec.configs)]);
      await admin.alterConfigs({
        validateOnly: false,
        resources: [
          {
            type: ConfigResourceTypes.TOPIC,
            name: spec.name,
            configEntries: [...merged].map(([name, value]) => ({ name, value })),
          },
        ],
      });
    }
    outcomes.push({
      topic: spec.name,
      outcome: Object.keys(changed).length > 0 ? 'configs-updated' : 'unchanged',
      ...(Object.keys(changed).length > 0 ? { changed } : {}),
      ...(warnings.length > 0 ? { warnings } : {}),
    });
  }
  return outcomes;
}
