import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { createServer, type Server } from 'node:tls';
import { loadConfig } from '../../apps/revocation-writer/src/config/config';
import { KafkaPublisher } from '../../apps/revocation-writer/src/outbox/kafka-publisher';

/**
 * The Kafka test broker has no TLS listener, so this proves the wiring of KAFKA_SSL* up to the
 * TLS handshake: a TLS server with a self-signed certificate stands where a broker would be, and
 * records whether the writer's Kafka client completed a handshake with it.
 */
describe('writer Kafka connections over TLS', () => {
  let dir: string;
  let caFile: string;
  let server: Server;
  let port: number;
  let handshakes: Array<{ servername: string | false | null }>;
  let clientErrors: string[];

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'rescind-tls-'));
    caFile = path.join(dir, 'broker.pem');
    const keyFile = path.join(dir, 'broker.key');
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-keyout',
        keyFile,
        '-out',
        caFile,
        '-days',
        '1',
        '-subj',
        '/CN=localhost',
        '-addext',
        'subjectAltName=DNS:localhost',
      ],
      { stdio: 'ignore' },
    );
    server = createServer(
      { key: await readFile(keyFile), cert: await readFile(caFile) },
      (socket) => {
        handshakes.push({ servername: socket.servername });
        socket.destroy(); // not a broker: the handshake is what this test is about
      },
    );
    server.on('tlsClientError', (error) => clientErrors.push(error.message));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });

  beforeEach(() => {
    handshakes = [];
    clientErrors = [];
  });

  afterAll(async () => {
    await new Promise((resolve) => server?.close(resolve));
    await rm(dir, { recursive: true, force: true });
  });

  async function publishThrough(env: Record<string, string>): Promise<void> {
    const publisher = new KafkaPublisher(
      loadConfig({ KAFKA_BROKERS: `localhost:${port}`, ...env }),
    );
    try {
      await expect(
        publisher.publish([{ seq: 1, key: 'sub::alice', payload: {}, headers: {} }]),
      ).rejects.toThrow(); // nothing behind the handshake answers Kafka requests
    } finally {
      await publisher.onModuleDestroy();
    }
  }

  it('completes the handshake with a broker whose certificate KAFKA_SSL_CA_FILE vouches for', async () => {
    await publishThrough({ KAFKA_SSL: 'true', KAFKA_SSL_CA_FILE: caFile });
    expect(handshakes.length).toBeGreaterThan(0);
    expect(handshakes[0]).toEqual({ servername: 'localhost' });
  });

  it('refuses the same broker without that CA: its certificate is not trusted', async () => {
    await publishThrough({ KAFKA_SSL: 'true' });
    expect(handshakes).toEqual([]);
    expect(clientErrors.length).toBeGreaterThan(0);
  });

  it('speaks plaintext Kafka without KAFKA_SSL, which a TLS listener refuses', async () => {
    await publishThrough({});
    expect(handshakes).toEqual([]);
    expect(clientErrors.length).toBeGreaterThan(0);
  });
});
