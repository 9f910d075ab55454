import { DataSource } from 'typeorm';
import { CredentialsRepository } from './auth/credentials.repository';
import { ROLES, type Role } from './auth/permissions';
import { loadConfig } from './config/config';
import { dataSourceOptions, runMigrations } from './database/data-source';

const USAGE = `usage:
  rescind-admin credential create --name NAME --role ROLE   (roles: ${ROLES.join(', ')})
  rescind-admin credential disable --name NAME
  rescind-admin client create --client-id ID --name NAME
Reads DATABASE_URL / DATABASE_SCHEMA like the writer. Secrets are printed once and stored hashed.`;

function option(args: string[], name: string): string {
  const i = args.indexOf(`--${name}`);
  const value = i >= 0 ? args[i + 1] : undefined;
  if (value === undefined || value.startsWith('--')) {
    throw new Error(`missing --${name}\n${USAGE}`);
  }
  return value;
}

/** Creates and disables API credentials and OAuth clients. */
export async function runCli(
  args: string[],
  env: Record<string, string | undefined>,
): Promise<string> {
  const [noun, verb, ...rest] = args;
  // The CLI never serves ingest traffic: the ingest token is irrelevant here.
  const config = loadConfig({
    ...env,
    INGEST_AUTH_DISABLED: 'true',
    INGEST_BEARER_TOKEN: undefined,
  });
  await runMigrations(config.database);
  const dataSource = new DataSource(dataSourceOptions(config.database, 1));
  await dataSource.initialize();
  try {
    const credentials = new CredentialsRepository(dataSource);
    if (noun === 'credential' && verb === 'create') {
      const role = option(rest, 'role');
      if (!(ROLES as readonly string[]).includes(role)) {
        throw new Error(`unknown role "${role}"; one of ${ROLES.join(', ')}`);
      }
      const { id, token } = await credentials.createCredential(option(rest, 'name'), role as Role);
      return JSON.stringify({
        id,
        role,
        token,
        note: 'store the token now: it cannot be shown again',
      });
    }
    if (noun === 'credential' && verb === 'disable') {
      const name = option(rest, 'name');
      if (!(await credentials.disableCredential(name))) {
        throw new Error(`no enabled credential named "${name}"`);
      }
      return JSON.stringify({ disabled: name });
    }
    if (noun === 'client' && verb === 'create') {
      const client = await credentials.createClient(
        option(rest, 'client-id'),
        option(rest, 'name'),
      );
      return JSON.stringify({ ...client, note: 'store the secret now: it cannot be shown again' });
    }
    throw new Error(USAGE);
  } finally {
    await dataSource.destroy();
  }
}
