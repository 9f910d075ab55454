import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Secrets Rescind issues are 256 random bits, so a single SHA-256 is a sufficient one-way hash
 * (no dictionary to attack); only the hash is stored. Comparison is in constant time.
 */
export function sha256Hex(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

export function newSecret(): string {
  return randomBytes(32).toString('base64url');
}

export function secretMatches(presented: string, storedSha256Hex: string): boolean {
  const a = createHash('sha256').update(presented, 'utf8').digest();
  const b = Buffer.from(storedSha256Hex, 'hex');
  return b.length === a.length && timingSafeEqual(a, b);
}

/** API credential tokens: `rsk_<id>_<secret>`; the id locates the row, the secret proves it. */
const TOKEN = /^rsk_([A-Za-z0-9]{12})_([A-Za-z0-9_-]{43})$/;

export function formatApiToken(id: string, secret: string): string {
  return `rsk_${id}_${secret}`;
}

export function parseApiToken(token: string): { id: string; secret: string } | undefined {
  const match = TOKEN.exec(token);
  return match ? { id: match[1]!, secret: match[2]! } : undefined;
}

export function newCredentialId(): string {
  const alphabet = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789';
  return Array.from(randomBytes(12), (b) => alphabet[b % alphabet.length]).join('');
}
