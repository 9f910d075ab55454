import { ConfigError, loadConfig } from './config';

const TOKEN = 'x'.repeat(32);

describe(loadConfig.name, () => {
  it('applies documented defaults', () => {
    const config = loadConfig({ INGEST_BEARER_TOKEN: TOKEN });
    expect(config.http.port).toBe(3000);
    expect(config.kafka.invalidationTopic).toBe('revocation.invalidations.v1');
    expect(config.database.schema).toBe('public');
    expect(config.ingest.sharedToken).toBe(TOKEN);
  });

  it('needs no shared ingest token (API credentials and signed webhooks exist)', () => {
    expect(loadConfig({}).ingest).toEqual({ sharedToken: null, authDisabled: false });
    expect(loadConfig({ INGEST_AUTH_DISABLED: 'true' }).ingest.authDisabled).toBe(true);
  });

  it('names every offending variable', () => {
    let error: unknown;
    try {
      loadConfig({ INGEST_BEARER_TOKEN: 'short', PORT: 'eighty', KAFKA_BROKERS: ' , ' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect(String(error)).toMatch(/INGEST_BEARER_TOKEN/);
    expect(String(error)).toMatch(/PORT/);
    expect(String(error)).toMatch(/KAFKA_BROKERS/);
  });

  it('splits KAFKA_BROKERS', () => {
    const config = loadConfig({ INGEST_AUTH_DISABLED: 'true', KAFKA_BROKERS: 'a:9092, b:9092' });
    expect(config.kafka.brokers).toEqual(['a:9092', 'b:9092']);
  });
});

describe('event source configuration', () => {
  const secret = `whsec_${Buffer.alloc(32, 7).toString('base64')}`;

  it('refuses to start when a webhook source has no secret: verification is never skipped', () => {
    expect(() =>
      loadConfig({
        INGEST_AUTH_DISABLED: 'true',
        WEBHOOK_SOURCES: 'hr,siem',
        WEBHOOK_SECRET_HR: secret,
      }),
    ).toThrow(/WEBHOOK_SECRET_SIEM/);
  });

  it('accepts several secrets per source for rotation and rejects malformed ones', () => {
    const config = loadConfig({
      INGEST_AUTH_DISABLED: 'true',
      WEBHOOK_SOURCES: 'hr',
      WEBHOOK_SECRET_HR: `${secret}, ${secret.replace('Bw', 'CA')}`,
    });
    expect(config.sources.webhookSecrets.hr).toHaveLength(2);
    expect(() =>
      loadConfig({ INGEST_AUTH_DISABLED: 'true', WEBHOOK_SECRET_HR: 'hunter2' }),
    ).toThrow(/WEBHOOK_SECRET_HR/);
  });

  it('parses the HR directory and rejects invalid JSON naming the variable', () => {
    const config = loadConfig({
      INGEST_AUTH_DISABLED: 'true',
      HR_EMPLOYEE_DIRECTORY: '{"E-1": {"subject": "alice"}}',
    });
    expect(config.sources.employees.get('E-1')).toEqual({ subject: 'alice' });
    expect(() =>
      loadConfig({ INGEST_AUTH_DISABLED: 'true', HR_EMPLOYEE_DIRECTORY: '{nope' }),
    ).toThrow(/HR_EMPLOYEE_DIRECTORY: must be valid JSON/);
  });
});
