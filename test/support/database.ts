import { DataSource } from 'typeorm';
import { loadConfig } from '../../apps/revocation-writer/src/config/config';
import {
  dataSourceOptions,
  runMigrations,
} from '../../apps/revocation-writer/src/database/data-source';
import { createTestSchema, type TestSchema } from './postgres';

/** A schema of its own with the writer's migrations applied, and a TypeORM DataSource on it. */
export interface MigratedDatabase {
  schema: TestSchema;
  dataSource: DataSource;
  /** Closes the DataSource and drops the schema. */
  close(): Promise<void>;
}

/**
 * For specs that drive the writer's repositories against PostgreSQL without starting the
 * writer: a fresh schema (`prefix` names it), migrated like production, with a pool of two.
 */
export async function startMigratedDatabase(prefix: string): Promise<MigratedDatabase> {
  const schema = await createTestSchema(prefix);
  try {
    const config = loadConfig({ DATABASE_URL: schema.url, DATABASE_SCHEMA: schema.schema });
    await runMigrations(config.database);
    const dataSource = new DataSource(dataSourceOptions(config.database, 2));
    await dataSource.initialize();
    return {
      schema,
      dataSource,
      close: async () => {
        await dataSource.destroy();
        await schema.drop();
      },
    };
  } catch (error) {
    await schema.drop();
    throw error;
  }
}
