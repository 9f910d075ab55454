import { Injectable, Optional } from '@nestjs/common';
import { InjectConfig, type WriterConfig } from '../config/config';
import { LookupCache } from './lookup-cache';
import { DataSource } from 'typeorm';
import { rows } from '../database/sql';
import type { Principal, Role } from './permissions';
import {
  formatApiToken,
  newCredentialId,
  newSecret,
  parseApiToken,
  secretMatches,
  sha256Hex,
} from './secrets';

export interface OAuthClient {
  clientId: string;
  name: string;
  /**
   * The one token issuer (`iss`) whose tokens this client may revoke: a `client_id` is unique
   * only per issuer. Null for a client registered before clients named their issuer.
   */
  issuer: string | null;
}

/** An API credential as `rescind-admin credential list` shows it: never its secret or hash. */
export interface CredentialInfo {
  name: string;
  id: string;
  role: Role;
  /** Null: acts for any issuer. */
  issuer: string | null;
  createdAt: Date;
  disabledAt: Date | null;
}

/** What rotating a credential's secret did (`rescind-admin credential rotate`). */
export type CredentialRotation =
  | { outcome: 'rotated'; id: string; role: Role; issuer: string | null; token: string }
  | { outcome: 'unknown' }
  | { outcome: 'disabled' };

/** What binding a client to an issuer did (`rescind-admin client bind`). */
export type ClientBinding =
  | { outcome: 'bound' }
  | { outcome: 'unknown-client' }
  | { outcome: 'bound-elsewhere'; issuer: string };

interface CredentialRow {
  id: string;
  name: string;
  role: Role;
  secret_sha256: string;
  issuer: string | null;
}

interface ClientRow {
  client_id: string;
  name: string;
  issuer: string | null;
  secret_sha256: string;
}

/** API credentials and OAuth clients. Secrets are shown once at creation and stored hashed. */
@Injectable()
export class CredentialsRepository {
  private readonly credentialRows: LookupCache<CredentialRow | undefined>;
  private readonly clientRows: LookupCache<ClientRow | undefined>;

  /**
   * `auth.cacheTtlMs`: how long a credential or client read from PostgreSQL is trusted
   * (AUTH_CACHE_TTL_MS); none (the admin CLI) reads it every time.
   */
  constructor(
    private readonly dataSource: DataSource,
    @Optional() @InjectConfig('auth') auth?: WriterConfig['auth'],
  ) {
    this.credentialRows = new LookupCache(auth?.cacheTtlMs ?? 0);
    this.clientRows = new LookupCache(auth?.cacheTtlMs ?? 0);
  }

  /** A change made through this writer takes effect in it at once (elsewhere within the TTL). */
  private changed(): void {
    this.credentialRows.clear();
    this.clientRows.clear();
  }

  /**
   * Creates a credential, acting for one token issuer when `issuer` is given; returns the token,
   * which is never stored and cannot be shown again.
   */
  async createCredential(
    name: string,
    role: Role,
    issuer: string | null = null,
  ): Promise<{ id: string; token: string }> {
    const id = newCredentialId();
    const secret = newSecret();
    const created = await rows(
      this.dataSource.manager,
      `INSERT INTO api_credential (id, name, role, secret_sha256, issuer) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (name) DO NOTHING
       RETURNING 1`,
      [id, name, role, sha256Hex(secret), issuer],
    );
    this.changed();
    if (created.length === 0) {
      throw new Error(
        `a credential named "${name}" already exists (names of disabled credentials stay taken): choose another name, or give it a new secret with "credential rotate --name ${name}"`,
      );
    }
    return { id, token: formatApiToken(id, secret) };
  }

  /** Every credential, by name, without its secret hash. When one was last used is not kept. */
  async listCredentials(): Promise<CredentialInfo[]> {
    const found = await rows<{
      name: string;
      id: string;
      role: Role;
      issuer: string | null;
      created_at: Date;
      disabled_at: Date | null;
    }>(
      this.dataSource.manager,
      `SELECT name, id, role, issuer, created_at, disabled_at FROM api_credential ORDER BY name`,
    );
    return found.map((row) => ({
      name: row.name,
      id: row.id,
      role: row.role,
      issuer: row.issuer,
      createdAt: row.created_at,
      disabledAt: row.disabled_at,
    }));
  }

  /**
   * Gives an enabled credential a new secret; returns the new token (shown once). The old one
   * stops authenticating with this commit: there is no grace period, so rotate when the new
   * token can be deployed at once (or create a second credential and disable the first later).
   * The id, and so the actor in the audit log, stays.
   */
  async rotateCredential(name: string): Promise<CredentialRotation> {
    const secret = newSecret();
    const [rotated] = await rows<{ id: string; role: Role; issuer: string | null }>(
      this.dataSource.manager,
      `UPDATE api_credential SET secret_sha256 = $2 WHERE name = $1 AND disabled_at IS NULL
       RETURNING id, role, issuer`,
      [name, sha256Hex(secret)],
    );
    this.changed();
    if (rotated) {
      return { outcome: 'rotated', ...rotated, token: formatApiToken(rotated.id, secret) };
    }
    const [disabled] = await rows(
      this.dataSource.manager,
      `SELECT 1 FROM api_credential WHERE name = $1`,
      [name],
    );
    return disabled ? { outcome: 'disabled' } : { outcome: 'unknown' };
  }

  async disableCredential(name: string): Promise<boolean> {
    const done = await rows(
      this.dataSource.manager,
      `UPDATE api_credential SET disabled_at = now() WHERE name = $1 AND disabled_at IS NULL RETURNING 1`,
      [name],
    );
    this.changed();
    return done.length > 0;
  }

  /** The principal a bearer token stands for, or undefined (unknown, disabled, wrong secret). */
  async authenticate(token: string): Promise<Principal | undefined> {
    const parsed = parseApiToken(token);
    if (!parsed) {
      return undefined;
    }
    const row = await this.credentialRows.get(parsed.id, async () => {
      const [found] = await rows<CredentialRow>(
        this.dataSource.manager,
        `SELECT id, name, role, secret_sha256, issuer FROM api_credential
          WHERE id = $1 AND disabled_at IS NULL`,
        [parsed.id],
      );
      return found;
    });
    if (!row || !secretMatches(parsed.secret, row.secret_sha256)) {
      return undefined;
    }
    const principal: Principal = { id: row.id, name: row.name, role: row.role };
    return row.issuer === null ? principal : { ...principal, issuer: row.issuer };
  }

  /**
   * Registers an OAuth client for RFC 7009 revocation of `issuer`'s tokens issued to
   * `clientId`; returns its secret (shown once). Client ids are unique in Rescind, because a
   * client authenticates with its id and secret alone.
   */
  async createClient(
    clientId: string,
    name: string,
    issuer: string,
  ): Promise<{ clientId: string; issuer: string; clientSecret: string }> {
    const secret = newSecret();
    const created = await rows(
      this.dataSource.manager,
      `INSERT INTO oauth_client (client_id, name, issuer, secret_sha256) VALUES ($1, $2, $3, $4)
       ON CONFLICT (client_id) DO NOTHING
       RETURNING 1`,
      [clientId, name, issuer, sha256Hex(secret)],
    );
    this.changed(); // a miss for this client id may be cached
    if (created.length === 0) {
      throw new Error(`an OAuth client with client id "${clientId}" is already registered`);
    }
    return { clientId, issuer, clientSecret: secret };
  }

  /**
   * Binds a client registered before clients named their issuer. Binding it again to the same
   * issuer is harmless; moving a bound client to another issuer is refused, since that would
   * hand it another issuer's sessions: register a new client instead.
   */
  async bindClientIssuer(clientId: string, issuer: string): Promise<ClientBinding> {
    const bound = await rows(
      this.dataSource.manager,
      `UPDATE oauth_client SET issuer = $2
        WHERE client_id = $1 AND (issuer IS NULL OR issuer = $2)
        RETURNING 1`,
      [clientId, issuer],
    );
    this.changed();
    if (bound.length > 0) {
      return { outcome: 'bound' };
    }
    const [other] = await rows<{ issuer: string }>(
      this.dataSource.manager,
      `SELECT issuer FROM oauth_client WHERE client_id = $1`,
      [clientId],
    );
    return other
      ? { outcome: 'bound-elsewhere', issuer: other.issuer }
      : { outcome: 'unknown-client' };
  }

  /** The client these credentials authenticate, or undefined. Constant-time on the secret. */
  async authenticateClient(
    clientId: string,
    clientSecret: string,
  ): Promise<OAuthClient | undefined> {
    const row = await this.clientRows.get(clientId, async () => {
      const [found] = await rows<ClientRow>(
        this.dataSource.manager,
        `SELECT client_id, name, issuer, secret_sha256 FROM oauth_client WHERE client_id = $1 AND disabled_at IS NULL`,
        [clientId],
      );
      return found;
    });
    // Hash even for an unknown client, so timing does not tell which client ids exist.
    const matches = secretMatches(clientSecret, row?.secret_sha256 ?? sha256Hex(''));
    return row && matches
      ? { clientId: row.client_id, name: row.name, issuer: row.issuer }
      : undefined;
  }
}
