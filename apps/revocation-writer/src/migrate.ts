import { loadConfig } from './config/config';
import { runMigrations } from './database/data-source';

/** Applies pending migrations and exits (the writer also does this at start-up). */
runMigrations(loadConfig(process.env).database).then(
  () => process.stdout.write('migrations applied\n'),
  (error: unknown) => {
    process.stderr.write(`${String(error)}\n`);
    process.exit(1);
  },
);
