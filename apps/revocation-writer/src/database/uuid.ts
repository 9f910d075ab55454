/**
 * A UUID in its text form, as PostgreSQL prints `uuid` values. Checked before a query so that a
 * malformed id is "no such row" (404), never a `22P02` cast error from the database.
 */
export const UUID_TEXT = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
