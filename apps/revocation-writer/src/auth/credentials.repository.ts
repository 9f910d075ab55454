import { Injectable } from '@nestjs/common';
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

/** What binding a client to an issuer did (`rescind-admin client bind`). */
export type ClientBinding =
  | { outcome: 'bound' }
  | { outcome: 'unknown-client' }
  | { outcome: 'bound-elsewhere'; issuer: string };

/** API credentials and OAuth clients. Secrets are shown once at creation and stored hashed. */
@Injectable()
export class CredentialsRepository {
  constructor(private readonly dataSource: DataSource) {}

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
    await this.dataSource.query(
      `INSERT INTO api_credential (id, name, role, secret_sha256, issuer) VALUES ($1, $2, $3, $4, $5)`,
      [id, name, role, sha256Hex(secret), issuer],
    );
    return { id, token: formatApiToken(id, secret) };
  }

  async disableCredential(name: string): Promise<boolean> {
    const done = await rows(
      this.dataSource.manager,
      `UPDATE api_credential SET disabled_at = now() WHERE name = $1 AND disabled_at IS NULL RETURNING 1`,
      [name],
    );
    return done.length > 0;
  }

  /** The principal a bearer token stands for, or undefined (unknown, disabled, wrong secret). */
  async authenticate(token: string): Promise<Principal | undefined> {
    const parsed = parseApiToken(token);
    if (!parsed) {
      return undefined;
    }
    const [row] = await rows<{
      id: string;
      name: string;
      role: Role;
      secret_sha256: string;
      issuer: string | null;
    }>(
      this.dataSource.manager,
      `SELECT id, name, role, secret_sha256, issuer FROM api_credential
        WHERE id = $1 AND disabled_at IS NULL`,
      [parsed.id],
    );
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
    const [row] = await rows<{
      client_id: string;
      name: string;
      issuer: string | null;
      secret_sha256: string;
    }>(
      this.dataSource.manager,
      `SELECT client_id, name, issuer, secret_sha256 FROM oauth_client WHERE client_id = $1 AND disabled_at IS NULL`,
      [clientId],
    );
    // Hash even for an unknown client, so timing does not tell which client ids exist.
    const matches = secretMatches(clientSecret, row?.secret_sha256 ?? sha256Hex(''));
    return row && matches
      ? { clientId: row.client_id, name: row.name, issuer: row.issuer }
      : undefined;
  }
}
