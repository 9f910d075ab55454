import { ConfigError, loadConfig } from './config';
import { kafkaSecurity, KafkaSecurityError, type KafkaSecurityEnv } from './kafka-security';

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

  it('bounds slow requests and idle connections by default, checked at a tenth of the shortest timeout', () => {
    expect(loadConfig({}).http).toMatchObject({
      requestTimeoutMs: 10_000,
      headersTimeoutMs: 5_000,
      keepAliveTimeoutMs: 72_000,
      connectionTimeoutMs: 60_000,
      timeoutCheckIntervalMs: 500,
    });
    const short = loadConfig({ HTTP_REQUEST_TIMEOUT_MS: '1500', HTTP_HEADERS_TIMEOUT_MS: '1000' });
    expect(short.http).toMatchObject({ requestTimeoutMs: 1500, timeoutCheckIntervalMs: 100 });
    const long = loadConfig({
      HTTP_REQUEST_TIMEOUT_MS: '120000',
      HTTP_HEADERS_TIMEOUT_MS: '60000',
      HTTP_CONNECTION_TIMEOUT_MS: '0',
    });
    expect(long.http).toMatchObject({ connectionTimeoutMs: 0, timeoutCheckIntervalMs: 1000 });
  });

  it('refuses HTTP timeouts that contradict each other, naming the variable', () => {
    expect(() =>
      loadConfig({ HTTP_REQUEST_TIMEOUT_MS: '2000', HTTP_HEADERS_TIMEOUT_MS: '3000' }),
    ).toThrow(/HTTP_HEADERS_TIMEOUT_MS: must not exceed HTTP_REQUEST_TIMEOUT_MS/);
    expect(() =>
      loadConfig({ HTTP_REQUEST_TIMEOUT_MS: '30000', HTTP_CONNECTION_TIMEOUT_MS: '20000' }),
    ).toThrow(/HTTP_CONNECTION_TIMEOUT_MS: must exceed HTTP_REQUEST_TIMEOUT_MS/);
    expect(() => loadConfig({ HTTP_REQUEST_TIMEOUT_MS: '0' })).toThrow(/HTTP_REQUEST_TIMEOUT_MS/);
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

describe('SSF_TRANSMITTERS poll delivery (RFC 8936)', () => {
  const transmitter = {
    issuer: 'https://transmitter.example.com',
    audience: 'https://rescind.example.com/ssf',
    jwksUri: 'https://transmitter.example.com/jwks.json',
  };
  const load = (entry: Record<string, unknown>) =>
    loadConfig({ INGEST_AUTH_DISABLED: 'true', SSF_TRANSMITTERS: JSON.stringify([entry]) });

  it('leaves a transmitter without "poll" push-only', () => {
    expect(load(transmitter).sources.transmitters[0]!.poll).toBeUndefined();
  });

  it('applies the documented defaults', () => {
    const endpoint = 'https://transmitter.example.com/ssf/poll';
    expect(load({ ...transmitter, poll: { endpoint } }).sources.transmitters[0]!.poll).toEqual({
      endpoint,
      intervalMs: 1000,
      maxEvents: 100,
      timeoutMs: 10_000,
      maxBackoffMs: 30_000,
      maxResponseBytes: 10 * 1024 * 1024,
    });
  });

  it('keeps every option given', () => {
    const poll = {
      endpoint: 'http://127.0.0.1:8080/poll',
      authorization: 'Bearer abc',
      intervalMs: 50,
      maxEvents: 5,
      timeoutMs: 2000,
      maxBackoffMs: 400,
      maxResponseBytes: 65_536,
    };
    expect(load({ ...transmitter, poll }).sources.transmitters[0]!.poll).toEqual(poll);
  });

  it.each([
    ['no endpoint', {}, /SSF_TRANSMITTERS\.0\.poll\.endpoint/],
    ['a non-HTTP endpoint', { endpoint: 'ftp://x.example/poll' }, /poll\.endpoint/],
    ['maxEvents 0', { endpoint: 'https://x.example/p', maxEvents: 0 }, /poll\.maxEvents/],
    ['a string interval', { endpoint: 'https://x.example/p', intervalMs: '5' }, /poll\.intervalMs/],
    ['a tiny timeout', { endpoint: 'https://x.example/p', timeoutMs: 1 }, /poll\.timeoutMs/],
    [
      'a response cap under 1 KiB',
      { endpoint: 'https://x.example/p', maxResponseBytes: 512 },
      /poll\.maxResponseBytes/,
    ],
    [
      'a fractional response cap',
      { endpoint: 'https://x.example/p', maxResponseBytes: 4096.5 },
      /poll\.maxResponseBytes/,
    ],
  ])('refuses %s, naming the option', (_, poll, message) => {
    expect(() => load({ ...transmitter, poll })).toThrow(message);
  });

  it('refuses a multi-line authorization without repeating the secret', () => {
    let error: unknown;
    try {
      load({
        ...transmitter,
        poll: { endpoint: 'https://x.example/p', authorization: 'Bearer s3cr3t\r\nX-Evil: 1' },
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect(String(error)).toMatch(/SSF_TRANSMITTERS\.0\.poll\.authorization/);
    expect(String(error)).not.toMatch(/s3cr3t/);
  });
});

describe('Kafka TLS and SASL', () => {
  const PEM = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
  const files: Record<string, string> = {
    '/etc/kafka/ca.pem': PEM,
    '/etc/kafka/client.pem': PEM,
    '/etc/kafka/client.key': '-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n',
    '/run/secrets/kafka-password': 's3cret-from-file\n',
    '/run/secrets/empty': '\n',
    '/etc/kafka/not-pem.txt': 'hello',
  };
  const read = (path: string): string => {
    const text = files[path];
    if (text === undefined) {
      throw Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' });
    }
    return text;
  };
  const env = (over: Partial<KafkaSecurityEnv>): KafkaSecurityEnv => ({
    KAFKA_SSL: false,
    KAFKA_SSL_REJECT_UNAUTHORIZED: true,
    ...over,
  });

  it('connects in plaintext without SASL by default', () => {
    expect(loadConfig({}).kafka.security).toEqual({});
  });

  it('turns TLS on, with the CA, client certificate and key read from PEM files', () => {
    expect(loadConfig({ KAFKA_SSL: 'true' }).kafka.security).toEqual({ ssl: true });
    expect(
      kafkaSecurity(
        env({
          KAFKA_SSL: true,
          KAFKA_SSL_CA_FILE: '/etc/kafka/ca.pem',
          KAFKA_SSL_CERT_FILE: '/etc/kafka/client.pem',
          KAFKA_SSL_KEY_FILE: '/etc/kafka/client.key',
        }),
        read,
      ),
    ).toEqual({
      ssl: {
        ca: [PEM.trimEnd()],
        cert: PEM.trimEnd(),
        key: files['/etc/kafka/client.key']!.trimEnd(),
      },
    });
    expect(
      kafkaSecurity(env({ KAFKA_SSL: true, KAFKA_SSL_REJECT_UNAUTHORIZED: false }), read),
    ).toEqual({ ssl: { rejectUnauthorized: false } });
  });

  it('authenticates with SASL SCRAM, the password given directly or in a file', () => {
    expect(
      kafkaSecurity(
        env({
          KAFKA_SASL_MECHANISM: 'scram-sha-512',
          KAFKA_SASL_USERNAME: 'rescind',
          KAFKA_SASL_PASSWORD_FILE: '/run/secrets/kafka-password',
        }),
        read,
      ),
    ).toEqual({
      sasl: { mechanism: 'scram-sha-512', username: 'rescind', password: 's3cret-from-file' },
    });
    expect(
      loadConfig({
        KAFKA_SSL: 'true',
        KAFKA_SASL_MECHANISM: 'plain',
        KAFKA_SASL_USERNAME: 'rescind',
        KAFKA_SASL_PASSWORD: 'pw',
      }).kafka.security,
    ).toEqual({ ssl: true, sasl: { mechanism: 'plain', username: 'rescind', password: 'pw' } });
  });

  it.each<[string, Partial<KafkaSecurityEnv>, RegExp]>([
    [
      'PLAIN without TLS',
      { KAFKA_SASL_MECHANISM: 'plain', KAFKA_SASL_USERNAME: 'u', KAFKA_SASL_PASSWORD: 'pw-123' },
      /KAFKA_SASL_MECHANISM: plain sends the password in clear; set KAFKA_SSL=true/,
    ],
    [
      'a mechanism without a user',
      { KAFKA_SASL_MECHANISM: 'scram-sha-256', KAFKA_SASL_PASSWORD: 'pw-123' },
      /KAFKA_SASL_USERNAME: required/,
    ],
    [
      'both a password and a password file',
      {
        KAFKA_SASL_MECHANISM: 'scram-sha-256',
        KAFKA_SASL_USERNAME: 'u',
        KAFKA_SASL_PASSWORD: 'pw-123',
        KAFKA_SASL_PASSWORD_FILE: '/run/secrets/kafka-password',
      },
      /give exactly one/,
    ],
    [
      'an empty password file',
      {
        KAFKA_SASL_MECHANISM: 'scram-sha-256',
        KAFKA_SASL_USERNAME: 'u',
        KAFKA_SASL_PASSWORD_FILE: '/run/secrets/empty',
      },
      /KAFKA_SASL_PASSWORD_FILE: \/run\/secrets\/empty is empty/,
    ],
    [
      'a credential without a mechanism',
      { KAFKA_SASL_USERNAME: 'u', KAFKA_SASL_PASSWORD: 'pw-123' },
      /KAFKA_SASL_USERNAME: set KAFKA_SASL_MECHANISM/,
    ],
    [
      'a CA file without TLS',
      { KAFKA_SSL_CA_FILE: '/etc/kafka/ca.pem' },
      /KAFKA_SSL_CA_FILE: set KAFKA_SSL=true/,
    ],
    [
      'a certificate without its key',
      { KAFKA_SSL: true, KAFKA_SSL_CERT_FILE: '/etc/kafka/client.pem' },
      /give both \(mutual TLS\) or neither/,
    ],
    [
      'a missing CA file',
      { KAFKA_SSL: true, KAFKA_SSL_CA_FILE: '/etc/kafka/missing.pem' },
      /KAFKA_SSL_CA_FILE: cannot read \/etc\/kafka\/missing.pem \(ENOENT\)/,
    ],
    [
      'a CA file that is not PEM',
      { KAFKA_SSL: true, KAFKA_SSL_CA_FILE: '/etc/kafka/not-pem.txt' },
      /KAFKA_SSL_CA_FILE: \/etc\/kafka\/not-pem.txt is not a PEM file/,
    ],
  ])('refuses %s, naming the variable and never the password', (_, over, message) => {
    const attempt = () => kafkaSecurity(env(over), read);
    expect(attempt).toThrow(KafkaSecurityError);
    expect(attempt).toThrow(message);
    expect(() => attempt()).not.toThrow(/pw-123|s3cret/);
  });

  it('stops the writer at start-up on a bad Kafka security setting', () => {
    expect(() =>
      loadConfig({
        KAFKA_SASL_MECHANISM: 'plain',
        KAFKA_SASL_USERNAME: 'u',
        KAFKA_SASL_PASSWORD: 'x',
      }),
    ).toThrow(ConfigError);
  });
});
