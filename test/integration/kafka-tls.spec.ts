import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { loadConfig } from '../../apps/revocation-writer/src/config/config';
import { KafkaPublisher } from '../../apps/revocation-writer/src/outbox/kafka-publisher';
import { KafkaBroker, type ScramUser } from '../../tools/kafka/broker';
import { collectTopic } from '../support/kafka';
import { waitFor } from '../support/wait-for';

const TOPIC = 'tls.invalidations';
const USER: ScramUser = {
  mechanism: 'SCRAM-SHA-512',
  username: 'rescind-writer',
  password: 'tls-test-pw-01',
};

/**
 * The writer's KAFKA_SSL* and KAFKA_SASL* settings against a real broker: an Apache Kafka
 * SASL_SSL listener with a certificate from a throwaway CA (openssl) and a SCRAM-SHA-512 user.
 * What the writer publishes over it is read back on the broker's plaintext listener.
 */
describe('writer Kafka connections over TLS with SASL/SCRAM', () => {
  let dir: string;
  let caFile: string;
  let broker: KafkaBroker;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'rescind-tls-'));
    caFile = path.join(dir, 'ca.pem');
    const keyFile = path.join(dir, 'broker.key');
    const certFile = path.join(dir, 'broker.pem');
    const openssl = (...args: string[]): void => {
      execFileSync('openssl', args, { stdio: 'ignore' });
    };
    // A CA, and a broker certificate for `localhost` signed by it.
    openssl(
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', path.join(dir, 'ca.key'), '-out', caFile, '-days', '1', '-subj', '/CN=rescind test CA',
    ); // prettier-ignore
    openssl(
      'req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', keyFile, '-out', path.join(dir, 'broker.csr'), '-subj', '/CN=localhost',
    ); // prettier-ignore
    await writeFile(path.join(dir, 'san.ext'), 'subjectAltName=DNS:localhost\n');
    openssl(
      'x509', '-req', '-in', path.join(dir, 'broker.csr'), '-CA', caFile,
      '-CAkey', path.join(dir, 'ca.key'), '-CAcreateserial', '-out', certFile, '-days', '1',
      '-extfile', path.join(dir, 'san.ext'),
    ); // prettier-ignore
    const keystore = path.join(dir, 'broker-keystore.pem');
    await writeFile(
      keystore,
      `${await readFile(keyFile, 'utf8')}${await readFile(certFile, 'utf8')}${await readFile(caFile, 'utf8')}`,
    );
    broker = await KafkaBroker.start({
      tls: { keystore, scram: [USER] },
      topics: [{ role: 'invalidations', name: TOPIC, partitions: 1, configs: {} }],
    });
  });

  afterAll(async () => {
    await broker?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const secure = (): Record<string, string> => ({
    KAFKA_BROKERS: broker.tlsBrokers.join(','),
    KAFKA_INVALIDATION_TOPIC: TOPIC,
    KAFKA_SSL: 'true',
    KAFKA_SSL_CA_FILE: caFile,
    KAFKA_SASL_MECHANISM: 'scram-sha-512',
    KAFKA_SASL_USERNAME: USER.username,
    KAFKA_SASL_PASSWORD: USER.password,
  });

  async function publish(env: Record<string, string>, key: string): Promise<void> {
    const publisher = new KafkaPublisher(loadConfig(env).kafka);
    try {
      await publisher.publish([{ seq: 1, key, payload: { key }, headers: {} }]);
    } finally {
      await publisher.onApplicationShutdown();
    }
  }

  it('publishes over TLS, trusting the broker through KAFKA_SSL_CA_FILE, as a SCRAM user', async () => {
    await publish(secure(), 'sub::over-tls');
    const reader = await collectTopic(broker.brokers, TOPIC);
    try {
      const record = await waitFor('the record on the broker', () =>
        reader.messages.find((m) => m.key === 'sub::over-tls'),
      );
      expect(record.value).toEqual({ key: 'sub::over-tls' });
    } finally {
      await reader.stop();
    }
  });

  it('refuses the broker without that CA: its certificate is not trusted', async () => {
    const withoutCa: Record<string, string> = secure();
    delete withoutCa.KAFKA_SSL_CA_FILE;
    await expect(publish(withoutCa, 'sub::no-ca')).rejects.toThrow(/certificate/i);
  });

  it('is refused by the broker with a wrong SCRAM password', async () => {
    await expect(
      publish({ ...secure(), KAFKA_SASL_PASSWORD: 'not-the-password' }, 'sub::wrong-password'),
    ).rejects.toThrow(/authenticat|SASL/i);
  });

  it('cannot speak plaintext Kafka to the TLS listener', async () => {
    const plain: Record<string, string> = secure();
    delete plain.KAFKA_SSL;
    delete plain.KAFKA_SSL_CA_FILE;
    await expect(publish(plain, 'sub::plaintext')).rejects.toThrow();
  });
});
