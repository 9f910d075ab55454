import type { Client } from 'pg';
import type { RunningWriter } from './writer';

/** `client_secret_basic`: id and secret form-urlencoded, then Basic (RFC 6749 §2.3.1). */
export function basicAuth(clientId: string, clientSecret: string): Record<string, string> {
  const encode = (s: string) => encodeURIComponent(s).replace(/%20/g, '+');
  const credentials = Buffer.from(`${encode(clientId)}:${encode(clientSecret)}`).toString('base64');
  return { authorization: `Basic ${credentials}` };
}

/** POSTs form parameters to an endpoint of the writer. */
export function postForm(
  writer: RunningWriter,
  path: string,
  parameters: Record<string, string>,
  headers: Record<string, string> = {},
): Promise<Response> {
  return fetch(`${writer.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(parameters).toString(),
  });
}

/** The active rules on `claim` = `value`, as stored. */
export async function activeRules(db: Client, claim: string, value: string) {
  const { rows } = await db.query<{
    rule_key: string;
    iss: string | null;
    revoked_before: Date | null;
    expires_at: Date | null;
    source: string;
  }>(
    `SELECT rule_key, iss, revoked_before, cutoff, expires_at, source FROM revocation_rule
      WHERE claim = $1 AND value = $2 AND status = 'active'`,
    [claim, value],
  );
  return rows;
}
