import { loadConfig } from '../config/config';
import { kafkaIngestOptions } from './kafka-ingest.server';
import { SourceEventPatterns } from './source-event-patterns';

/** These specs read the options only: nothing is ever recorded. */
const recordNothing = () => Promise.reject(new Error('not recorded in this spec'));

describe(kafkaIngestOptions.name, () => {
  it('uses the configured group id exactly (the stock ServerKafka appends "-server")', () => {
    const options = kafkaIngestOptions(
      loadConfig({ KAFKA_INGEST_GROUP_ID: 'writers-eu-1' }),
      recordNothing,
    );
    expect(options.groupId).toBe('writers-eu-1');
  });

  it('maps the topics configured at run time to the patterns of their sources', () => {
    const options = kafkaIngestOptions(
      loadConfig({
        KAFKA_INGEST_SOURCES: 'hr,siem',
        KAFKA_TOPIC_HR_EVENTS: 'corp.hr.v1',
        KAFKA_TOPIC_IDP_EVENTS: 'corp.idp.v1',
        KAFKA_TOPIC_SIEM_EVENTS: 'corp.siem.v1',
        KAFKA_DLQ_TOPIC: 'corp.dlq',
      }),
      recordNothing,
    );
    expect([...options.patternsByTopic]).toEqual([
      ['corp.hr.v1', SourceEventPatterns.hr],
      ['corp.siem.v1', SourceEventPatterns.siem],
    ]);
    expect(options.deadLetterTopic).toBe('corp.dlq');
    expect(options.maxBatch).toBe(500);
  });

  it('consumes nothing when no source is configured', () => {
    expect(
      kafkaIngestOptions(loadConfig({ KAFKA_INGEST_SOURCES: 'none' }), recordNothing)
        .patternsByTopic.size,
    ).toBe(0);
  });
});
