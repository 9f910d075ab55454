import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import type { SASLOptions } from 'kafkajs';

/** The environment variables that secure the writer's Kafka connections. */
export interface KafkaSecurityEnv {
  KAFKA_SSL: boolean;
  KAFKA_SSL_CA_FILE?: string;
  KAFKA_SSL_CERT_FILE?: string;
  KAFKA_SSL_KEY_FILE?: string;
  KAFKA_SSL_REJECT_UNAUTHORIZED: boolean;
  KAFKA_SASL_MECHANISM?: 'plain' | 'scram-sha-256' | 'scram-sha-512';
  KAFKA_SASL_USERNAME?: string;
  KAFKA_SASL_PASSWORD?: string;
  KAFKA_SASL_PASSWORD_FILE?: string;
}

/** What kafkajs' `KafkaConfig` takes for TLS and SASL; empty for a plaintext listener. */
export interface KafkaSecurity {
  ssl?: true | ConnectionOptions;
  sasl?: SASLOptions;
}

/** A mistake in the Kafka security settings; the message names the variable, never a secret. */
export class KafkaSecurityError extends Error {}

type ReadFile = (path: string) => string;
const readText: ReadFile = (path) => readFileSync(path, 'utf8');

/**
 * Builds the TLS and SASL options of every Kafka client of the writer (outbox publisher, source
 * topic consumer). Files are read once, at start-up, so a missing certificate or password file
 * stops the writer instead of failing on the first publish. Refuses SASL/PLAIN without TLS: it
 * would send the password in clear.
 */
export function kafkaSecurity(env: KafkaSecurityEnv, read: ReadFile = readText): KafkaSecurity {
  return { ...tlsOptions(env, read), ...saslOptions(env, read) };
}

function tlsOptions(env: KafkaSecurityEnv, read: ReadFile): Pick<KafkaSecurity, 'ssl'> {
  const files = ['KAFKA_SSL_CA_FILE', 'KAFKA_SSL_CERT_FILE', 'KAFKA_SSL_KEY_FILE'] as const;
  if (!env.KAFKA_SSL) {
    const stray = files.find((name) => env[name] !== undefined);
    if (stray) {
      throw new KafkaSecurityError(`${stray}: set KAFKA_SSL=true to use it`);
    }
    return {};
  }
  if ((env.KAFKA_SSL_CERT_FILE === undefined) !== (env.KAFKA_SSL_KEY_FILE === undefined)) {
    throw new KafkaSecurityError(
      'KAFKA_SSL_CERT_FILE, KAFKA_SSL_KEY_FILE: give both (mutual TLS) or neither',
    );
  }
  const options: ConnectionOptions = {};
  if (env.KAFKA_SSL_CA_FILE !== undefined) {
    options.ca = [readPem(env.KAFKA_SSL_CA_FILE, 'KAFKA_SSL_CA_FILE', read)];
  }
  if (env.KAFKA_SSL_CERT_FILE !== undefined && env.KAFKA_SSL_KEY_FILE !== undefined) {
    options.cert = readPem(env.KAFKA_SSL_CERT_FILE, 'KAFKA_SSL_CERT_FILE', read);
    options.key = readPem(env.KAFKA_SSL_KEY_FILE, 'KAFKA_SSL_KEY_FILE', read);
  }
  if (!env.KAFKA_SSL_REJECT_UNAUTHORIZED) {
    options.rejectUnauthorized = false;
  }
  return { ssl: Object.keys(options).length > 0 ? options : true };
}

function saslOptions(env: KafkaSecurityEnv, read: ReadFile): Pick<KafkaSecurity, 'sasl'> {
  const mechanism = env.KAFKA_SASL_MECHANISM;
  if (mechanism === undefined) {
    const stray = (
      ['KAFKA_SASL_USERNAME', 'KAFKA_SASL_PASSWORD', 'KAFKA_SASL_PASSWORD_FILE'] as const
    ).find((name) => env[name] !== undefined);
    if (stray) {
      throw new KafkaSecurityError(`${stray}: set KAFKA_SASL_MECHANISM to use it`);
    }
    return {};
  }
  if (mechanism === 'plain' && !env.KAFKA_SSL) {
    throw new KafkaSecurityError(
      'KAFKA_SASL_MECHANISM: plain sends the password in clear; set KAFKA_SSL=true',
    );
  }
  const username = env.KAFKA_SASL_USERNAME;
  if (username === undefined) {
    throw new KafkaSecurityError('KAFKA_SASL_USERNAME: required with KAFKA_SASL_MECHANISM');
  }
  if ((env.KAFKA_SASL_PASSWORD === undefined) === (env.KAFKA_SASL_PASSWORD_FILE === undefined)) {
    throw new KafkaSecurityError(
      'KAFKA_SASL_PASSWORD, KAFKA_SASL_PASSWORD_FILE: give exactly one with KAFKA_SASL_MECHANISM',
    );
  }
  const password =
    env.KAFKA_SASL_PASSWORD ??
    readSecret(env.KAFKA_SASL_PASSWORD_FILE!, 'KAFKA_SASL_PASSWORD_FILE', read);
  return { sasl: { mechanism, username, password } };
}

function readPem(path: string, name: string, read: ReadFile): string {
  const text = readSecret(path, name, read);
  if (!text.includes('-----BEGIN ')) {
    throw new KafkaSecurityError(`${name}: ${path} is not a PEM file`);
  }
  return text;
}

/** A file's text without its trailing newline (as `echo secret > file` leaves one). */
function readSecret(path: string, name: string, read: ReadFile): string {
  let text: string;
  try {
    text = read(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new KafkaSecurityError(`${name}: cannot read ${path} (${code})`);
  }
  const trimmed = text.replace(/\r?\n$/, '');
  if (trimmed.length === 0) {
    throw new KafkaSecurityError(`${name}: ${path} is empty`);
  }
  return trimmed;
}
