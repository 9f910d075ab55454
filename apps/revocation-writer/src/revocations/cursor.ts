import { InvalidQueryError } from './errors';

/**
 * Opaque keyset cursors: base64url of `{k, p}`, the listing they belong to and the position
 * (a `seq` or an audit id) of the last item returned. A keyset position, unlike an offset,
 * neither repeats nor skips items when rows are added or change while a client pages.
 */
export function encodeCursor(kind: string, position: number): string {
  return Buffer.from(JSON.stringify({ k: kind, p: position }), 'utf8').toString('base64url');
}

/** The position in `cursor`, or a 400 naming the parameter when it is not one of ours. */
export function decodeCursor(kind: string, cursor: string): number {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    parsed = undefined;
  }
  const { k, p } = (parsed ?? {}) as { k?: unknown; p?: unknown };
  if (k !== kind || typeof p !== 'number' || !Number.isSafeInteger(p) || p < 1) {
    throw new InvalidQueryError([
      { parameter: 'cursor', detail: 'not a cursor this listing returned' },
    ]);
  }
  return p;
}
