import type { EntityManager } from 'typeorm';

/**
 * Runs one parameterised statement and returns its rows (the RETURNING rows for writes),
 * on the manager's transaction when it has one, else on a pooled connection.
 */
export async function rows<T>(
  em: EntityManager,
  sql: string,
  params: unknown[] = [],
): Promise<T[]> {
  const own = em.queryRunner === undefined;
  const runner = em.queryRunner ?? em.connection.createQueryRunner();
  try {
    const result = await runner.query(sql, params, true);
    return result.records as T[];
  } finally {
    if (own) {
      await runner.release();
    }
  }
}
