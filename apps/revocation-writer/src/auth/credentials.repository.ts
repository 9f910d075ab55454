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
}

/** API credentials and OAuth clients. Secrets are shown once at creation and stored hashed. */
@Injectable()
export class CredentialsRepository {
  constructor(private readonly dataSource: DataSource) {}

  /** Creates a credential; returns the token, which is never stored and cannot be shown again. */
  async createCredential(name: string, role: Role): Promise<{ id: string; token: string }> {
    const id = newCredentialId();
    const secret = newSecret();
    await this.dataSource.query(
      `INSERT INTO api_credential (id, name, role, secret_sha256) VALUES ($1, $2, $3, $4)`,
      [id, name, role, sha256Hex(secret)],
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
    const [row] = await rows<{ id: string; name: string; role: Role; secret_sha256: string }>(
      this.dataSource.manager,
      `SELECT id, name, role, secret_sha256 FROM api_credential WHERE id = $1 AND disabled_at IS NULL`,
      [parsed.id],
    );
    if (!row || !secretMatches(parsed.secret, row.secret_sha256)) {
      return undefined;
    }
    return { id: row.id, name: row.name, role: row.role };
  }

  /** Registers an OAuth client for RFC 7009/7662; returns its secret (shown once). */
  async createClient(
    clientId: string,
    name: string,
  ): Promise<{ clientId: string; clientSecret: string }> {
    const secret = newSecret();
    await this.dataSource.query(
      `INSERT INTO oauth_client (client_id, name, secret_sha256) VALUES ($1, $2, $3)`,
      [clientId, name, sha256Hex(secret)],
    );
    return { clientId, clientSecret: secret };
  }

  /** The client these credentials authenticate, or undefined. Constant-time on the secret. */
  async authenticateClient(
    clientId: string,
    clientSecret: string,
  ): Promise<OAuthClient | undefined> {
    const [row] = await rows<{ client_id: string; name: string; secret_sha256: string }>(
      this.dataSource.manager,
      `SELECT client_id, name, secret_sha256 FROM oauth_client WHERE client_id = $1 AND disabled_at IS NULL`,
      [clientId],
    );
    // Hash even for an unknown client, so timing does not tell which client ids exist.
    const matches = secretMatches(clientSecret, row?.secret_sha256 ?? sha256Hex(''));
    return row && matches ? { clientId: row.client_id, name: row.name } : undefined;
  }
}
