import { Kafka, logLevel } from 'kafkajs';
import { DataSource } from 'typeorm';
import { CredentialsRepository } from './auth/credentials.repository';
import { ROLES, type Role } from './auth/permissions';
import { loadConfig, type WriterConfig } from './config/config';
import { dataSourceOptions, runMigrations } from './database/data-source';
import { ensureTopics } from './topics/ensure-topics';
import { writerTopicSpecs } from './topics/writer-topics';

const USAGE = `usage:
  rescind-admin credential create --name NAME --role ROLE [--issuer ISS]
      (roles: ${ROLES.join(', ')}; with --issuer, every rule it writes is restricted to ISS)
  rescind-admin credential disable --name NAME
  rescind-admin client create --client-id ID --name NAME --issuer ISS
  rescind-admin client bind --client-id ID --issuer ISS   (a client registered without an issuer)
  rescind-admin topics ensure
      (creates the Kafka topics with their specified partitions and configs, and sets the configs
      of existing topics back to the spec; reads KAFKA_BROKERS, KAFKA_SSL*, KAFKA_SASL* and the
      topic names like the writer; needs no database)
Reads DATABASE_URL / DATABASE_SCHEMA and ISSUERS like the writer: ISS must be one of ISSUERS.
Secrets are printed once and stored hashed.`;

/** The value of `--name`, or undefined when the option is absent. */
function optional(args: string[], name: string): string | undefined {
  return args.includes(`--${name}`) ? option(args, name) : undefined;
}

function option(args: string[], name: string): string {
  const i = args.indexOf(`--${name}`);
  const value = i >= 0 ? args[i + 1] : undefined;
  if (value === undefined || value.startsWith('--')) {
    throw new Error(`missing --${name}\n${USAGE}`);
  }
  return value;
}

/**
 * An OAuth client (or an issuer-bound credential) acts for one issuer, which must be one the
 * writer trusts: bound to an unknown issuer, it could never revoke anything. Checked against ISSUERS when
 * this environment has it; otherwise the answer says that it could not be checked.
 */
function trustedIssuer(issuer: string, config: WriterConfig): { issuer: string; warning?: string } {
  const trusted = config.issuers.map((i) => i.issuer);
  if (trusted.length === 0) {
    return {
      issuer,
      warning: 'ISSUERS is not set here: the issuer could not be checked against it',
    };
  }
  if (!trusted.includes(issuer)) {
    throw new Error(
      `unknown issuer "${issuer}": ISSUERS trusts ${trusted.map((i) => `"${i}"`).join(', ')}`,
    );
  }
  return { issuer };
}

/** `topics ensure`: the configured topics, created or set back to their specs; JSON lines out. */
async function ensureConfiguredTopics(config: WriterConfig): Promise<string> {
  const admin = new Kafka({
    ...config.kafka.security,
    brokers: config.kafka.brokers,
    clientId: `${config.kafka.clientId}-admin`,
    logLevel: logLevel.NOTHING,
    retry: { retries: 8 },
  }).admin();
  await admin.connect();
  try {
    const outcomes = await ensureTopics(admin, writerTopicSpecs(config));
    return outcomes.map((outcome) => JSON.stringify(outcome)).join('\n');
  } finally {
    await admin.disconnect();
  }
}

/** Creates and disables API credentials, creates OAuth clients and binds them to an issuer. */
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
  if (noun === 'topics' && verb === 'ensure') {
    return ensureConfiguredTopics(config);
  }
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
      const issuerOption = optional(rest, 'issuer');
      const { issuer, warning } =
        issuerOption === undefined ? { issuer: null } : trustedIssuer(issuerOption, config);
      const { id, token } = await credentials.createCredential(
        option(rest, 'name'),
        role as Role,
        issuer,
      );
      return JSON.stringify({
        id,
        role,
        issuer,
        token,
        note: 'store the token now: it cannot be shown again',
        warning,
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
      const { issuer, warning } = trustedIssuer(option(rest, 'issuer'), config);
      const client = await credentials.createClient(
        option(rest, 'client-id'),
        option(rest, 'name'),
        issuer,
      );
      // JSON leaves out a warning that is undefined.
      return JSON.stringify({
        ...client,
        note: 'store the secret now: it cannot be shown again',
        warning,
      });
    }
    if (noun === 'client' && verb === 'bind') {
      const clientId = option(rest, 'client-id');
      const { issuer, warning } = trustedIssuer(option(rest, 'issuer'), config);
      const binding = await credentials.bindClientIssuer(clientId, issuer);
      switch (binding.outcome) {
        case 'bound':
          return JSON.stringify({ clientId, issuer, warning });
        case 'unknown-client':
          throw new Error(`no OAuth client with client id "${clientId}"`);
        case 'bound-elsewhere':
          throw new Error(
            `OAuth client "${clientId}" is bound to "${binding.issuer}"; register a new client for "${issuer}"`,
          );
      }
    }
    throw new Error(USAGE);
  } finally {
    await dataSource.destroy();
  }
}
