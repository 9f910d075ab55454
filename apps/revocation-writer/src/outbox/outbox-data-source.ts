import { Logger, type OnApplicationShutdown } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { WriterConfig } from '../config/config';
import { dataSourceOptions } from '../database/data-source';
import { guardPoolClients } from '../database/pool-errors';

/**
 * The outbox relay's and the heartbeat's own PostgreSQL pool (OUTBOX_POOL_SIZE connections,
 * `application_name` rescind-writer-outbox), apart from the request pool: a backlog of requests
 * waiting for connections must never delay publishing what is already committed, nor the
 * heartbeat that tells enforcement points how fresh they are.
 */
export class OutboxDataSource implements OnApplicationShutdown {
  private constructor(readonly dataSource: DataSource) {}

  static async connect(
    database: WriterConfig['database'],
    outbox: WriterConfig['outbox'],
  ): Promise<OutboxDataSource> {
    const options = dataSourceOptions(database, outbox.poolSize);
    const dataSource = new DataSource({
      ...options,
      migrations: [],
      extra: { ...(options.extra as object), application_name: 'rescind-writer-outbox' },
    });
    await dataSource.initialize();
    guardPoolClients(dataSource, new Logger(OutboxDataSource.name));
    return new OutboxDataSource(dataSource);
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.dataSource.isInitialized) {
      await this.dataSource.destroy();
    }
  }
}
