import { type TopicSpec, topicSpecs } from '@rescind/contracts';
import type { WriterConfig } from '../config/config';

/** The project's topics under the names this writer is configured with. */
export function writerTopicSpecs(config: WriterConfig): TopicSpec[] {
  return topicSpecs({
    invalidations: config.kafka.invalidationTopic,
    deadLetter: config.sources.kafka.deadLetterTopic,
    hrEvents: config.sources.kafka.topics.hr,
    idpEvents: config.sources.kafka.topics.idp,
    siemEvents: config.sources.kafka.topics.siem,
  });
}
