import { Logger } from '@nestjs/common';
import { Client } from 'pg';
import { OUTBOX_CHANNEL } from './outbox.repository';

/**
 * A dedicated PostgreSQL session that LISTENs for outbox commits of one schema and calls
 * `onNotify`. Reconnects by itself; while it is down the relay's polling covers. Reports its
 * connection state (`onConnection`): the heartbeat trusts "no commit was notified" only while the
 * session is connected, and a session that connects again means PostgreSQL answers again.
 */
export class OutboxListener {
  private readonly logger = new Logger(OutboxListener.name);
  private client: Client | null = null;
  private stopped = false;
  private retryTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly connection: { url: string; schema: string; connectTimeoutMs: number },
    private readonly onNotify: () => void,
    private readonly onConnection: (connected: boolean) => void = () => undefined,
  ) {}

  start(): void {
    this.stopped = false;
    void this.connect();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.retryTimer) {
      clearTimeout(this.retryTimer);
    }
    const client = this.client;
    this.client = null;
    await client?.end().catch(() => undefined);
  }

  private async connect(): Promise<void> {
    const client = new Client({
      connectionString: this.connection.url,
      connectionTimeoutMillis: this.connection.connectTimeoutMs,
      application_name: 'rescind-writer-outbox-listener',
      keepAlive: true,
    });
    client.on('notification', (message) => {
      if (message.payload === this.connection.schema) {
        this.onNotify();
      }
    });
    client.on('error', (error) => this.retry(client, error));
    client.on('end', () => this.retry(client, new Error('connection ended')));
    try {
      await client.connect();
      await client.query(`LISTEN ${OUTBOX_CHANNEL}`);
      if (this.stopped) {
        await client.end();
        return;
      }
      this.client = client;
      this.onConnection(true);
      // Catch up on anything committed while we were not listening (and, for the heartbeat,
      // count it as a commit it may not have seen).
      this.onNotify();
    } catch (error) {
      this.retry(client, error);
    }
  }

  private retry(client: Client, error: unknown): void {
    if (this.stopped || this.retryTimer) {
      return;
    }
    if (this.client === client) {
      this.client = null;
    }
    this.onConnection(false);
    client.removeAllListeners('end');
    client.end().catch(() => undefined);
    this.logger.warn(`outbox LISTEN connection lost (${String(error)}); polling until it is back`);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      void this.connect();
    }, 1000);
  }
}
