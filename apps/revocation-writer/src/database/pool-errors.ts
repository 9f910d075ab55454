import type { Logger } from '@nestjs/common';
import type { Pool, PoolClient } from 'pg';
import type { DataSource } from 'typeorm';

/**
 * Gives every client of the data source's pg pool an `error` listener of its own, for as long as
 * it lives. TypeORM listens to a client only while a query runner holds it and drops the listener
 * at the first error (typeorm/typeorm#5387): a second error on the same dying connection (a
 * terminated backend sends an error, then its socket closes) found no listener and crashed the
 * writer (Node throws an `error` event nobody listens to). Found by the chaos tier's PostgreSQL
 * faults. The error itself is handled where it matters: the query that was running fails, and the
 * pool drops the client.
 */
export function guardPoolClients(dataSource: DataSource, logger: Pick<Logger, 'warn'>): void {
  const pool = (dataSource.driver as unknown as { master?: Pool }).master;
  if (pool === undefined) {
    return;
  }
  const guard = (client: PoolClient): void => {
    if (!guarded.has(client)) {
      guarded.add(client);
      client.on('error', (error: Error) => {
        logger.warn(`a PostgreSQL connection failed: ${error.message}`);
      });
    }
  };
  const guarded = new WeakSet<PoolClient>();
  pool.on('connect', guard);
  // Those the pool opened before (TypeORM's first connection at start-up).
  for (const client of (pool as unknown as { _clients?: PoolClient[] })._clients ?? []) {
    guard(client);
  }
}
