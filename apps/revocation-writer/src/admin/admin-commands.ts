import { Kafka, logLevel } from 'kafkajs';
import { DataSource } from 'typeorm';
import { type CredentialRotation, CredentialsRepository } from '../auth/credentials.repository';
import { ROLES, type Role } from '../auth/permissions';
import { loadConfig, type WriterConfig } from '../config/config';
import { dataSourceOptions, runMigrations } from '../database/data-source';
import { ensureTopics } from '../topics/ensure-topics';
import { writerTopicSpecs } from '../topics/writer-topics';
import { parseCommandLine, UsageError } from './command-line';

export { UsageError } from './command-line';

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

function roleOf(role: string): Role {
  if (!(ROLES as readonly string[]).includes(role)) {
    throw new UsageError(`credential create: unknown role "${role}"; one of ${ROLES.join(', ')}`);
  }
  return role as Role;
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

/** What `credential rotate` prints, or why it could not. */
function rotated(name: string, rotation: CredentialRotation): string {
  switch (rotation.outcome) {
    case 'rotated':
      return JSON.stringify({
        id: rotation.id,
        name,
        role: rotation.role,
        issuer: rotation.issuer,
        token: rotation.token,
        note: 'store the token now: it cannot be shown again; the previous one no longer works',
      });
    case 'disabled':
      throw new Error(`credential "${name}" is disabled; create a new one`);
    case 'unknown':
      throw new Error(`no credential named "${name}"`);
  }
}

/** Migrates, then runs `work` with the credentials repository on one connection. */
async function withCredentials<T>(
  config: WriterConfig,
  work: (credentials: CredentialsRepository) => Promise<T>,
): Promise<T> {
  await runMigrations(config.database);
  const dataSource = new DataSource(dataSourceOptions(config.database, 1));
  await dataSource.initialize();
  try {
    return await work(new CredentialsRepository(dataSource));
  } finally {
    await dataSource.destroy();
  }
}

/**
 * `rescind-admin`: creates, lists, rotates and disables API credentials, creates OAuth clients
 * and binds them to an issuer, ensures the Kafka topics. Returns what to print; throws a
 * {@link UsageError} for a wrong command line (before reading any configuration), an Error
 * for a failure.
 */
export async function runCli(
  args: string[],
  env: Record<string, string | undefined>,
): Promise<string> {
  const parsed = parseCommandLine(args);
  if ('help' in parsed) {
    return parsed.help;
  }
  const { command, values } = parsed;
  // Present for each required option: parseCommandLine checked.
  const value = (name: string): string => values[name]!;
  // The CLI never serves ingest traffic: the ingest token is irrelevant here.
  const config = loadConfig({
    ...env,
    INGEST_AUTH_DISABLED: 'true',
    INGEST_BEARER_TOKEN: undefined,
  });
  switch (command) {
    case 'topics ensure':
      return ensureConfiguredTopics(config);
    case 'credential create': {
      const role = roleOf(value('role'));
      const { issuer, warning } =
        values.issuer === undefined ? { issuer: null } : trustedIssuer(values.issuer, config);
      const { id, token } = await withCredentials(config, (credentials) =>
        credentials.createCredential(value('name'), role, issuer),
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
    case 'credential list': {
      const found = await withCredentials(config, (credentials) => credentials.listCredentials());
      return found
        .map((c) =>
          JSON.stringify({
            name: c.name,
            id: c.id,
            role: c.role,
            issuer: c.issuer,
            createdAt: c.createdAt.toISOString(),
            disabledAt: c.disabledAt?.toISOString() ?? null,
          }),
        )
        .join('\n');
    }
    case 'credential rotate': {
      const name = value('name');
      const rotation = await withCredentials(config, (credentials) =>
        credentials.rotateCredential(name),
      );
      return rotated(name, rotation);
    }
    case 'credential disable': {
      const name = value('name');
      const disabled = await withCredentials(config, (credentials) =>
        credentials.disableCredential(name),
      );
      if (!disabled) {
        throw new Error(`no enabled credential named "${name}"`);
      }
      return JSON.stringify({ disabled: name });
    }
    case 'client create': {
      const { issuer, warning } = trustedIssuer(value('issuer'), config);
      const client = await withCredentials(config, (credentials) =>
        credentials.createClient(value('client-id'), value('name'), issuer),
      );
      // JSON leaves out a warning that is undefined.
      return JSON.stringify({
        ...client,
        note: 'store the secret now: it cannot be shown again',
        warning,
      });
    }
    case 'client bind': {
      const clientId = value('client-id');
      const { issuer, warning } = trustedIssuer(value('issuer'), config);
      const binding = await withCredentials(config, (credentials) =>
        credentials.bindClientIssuer(clientId, issuer),
      );
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
  }
}
