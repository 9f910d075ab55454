import { DataSource, type DataSourceOptions } from 'typeorm';
import type { WriterConfig } from '../config/config';
import { InitialSchema1763769600000 } from './migrations/1763769600000-initial-schema';
import { CredentialsAndRuleStatus1763856000000 } from './migrations/1763856000000-credentials-and-rule-status';
import { OAuthClientIssuer1764115200000 } from './migrations/1764115200000-oauth-client-issuer';
import { CredentialIssuer1764201600000 } from './migrations/1764201600000-credential-issuer';
import { ProcessedEventReceivedAt1764288000000 } from './migrations/1764288000000-processed-event-received-at';
import { WebhookDeliveries1764374400000 } from './migrations/1764374400000-webhook-deliveries';
import { RuleCutoff1764460800000 } from './migrations/1764460800000-rule-cutoff';
import { UpstreamCalls1764547200000 } from './migrations/1764547200000-upstream-calls';

/** Every migration, in order. Listed explicitly so bundling never loses one. */
export const MIGRATIONS = [
  InitialSchema1763769600000,
  CredentialsAndRuleStatus1763856000000,
  OAuthClientIssuer1764115200000,
  CredentialIssuer1764201600000,
  ProcessedEventReceivedAt1764288000000,
  WebhookDeliveries1764374400000,
  RuleCutoff1764460800000,
  UpstreamCalls1764547200000,
];

export function dataSourceOptions(
  config: WriterConfig['database'],
  poolSize = config.poolSize,
): DataSourceOptions {
  return {
    type: 'postgres',
    url: config.url,
    schema: config.schema,
    migrations: MIGRATIONS,
    migrationsTableName: 'rescind_migrations',
    migrationsTransactionMode: 'each',
    synchronize: false,
    entities: [],
    extra: {
      max: poolSize,
      connectionTimeoutMillis: config.connectTimeoutMs,
      statement_timeout: config.statementTimeoutMs,
      idle_in_transaction_session_timeout: config.idleInTransactionTimeoutMs,
      // Unqualified table names resolve inside the configured schema.
      options: `-c search_path=${config.schema}`,
      application_name: 'rescind-writer',
    },
  };
}

/**
 * Creates the schema if needed and applies pending migrations. Runs at start-up and in tests;
 * the schema is never synchronised from entities.
 */
export async function runMigrations(config: WriterConfig['database']): Promise<void> {
  // One connection, so the advisory lock and the migrations share a session.
  const dataSource = new DataSource(dataSourceOptions(config, 1));
  await dataSource.initialize();
  try {
    // Several writers starting at once migrate one after the other.
    await dataSource.query(`SELECT pg_advisory_lock(hashtext('rescind.migrations.' || $1))`, [
      config.schema,
    ]);
    await dataSource.query(`CREATE SCHEMA IF NOT EXISTS "${config.schema}"`);
    await dataSource.runMigrations({ transaction: 'each' });
  } finally {
    await dataSource.destroy();
  }
}
