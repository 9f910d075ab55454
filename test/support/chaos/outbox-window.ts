import type { Client } from 'pg';
import { connectToSchema, type TestSchema } from '../postgres';
import { waitFor } from '../wait-for';

/** `application_name` of the relay's and the heartbeat's pool (outbox-data-source.ts). */
const OUTBOX_POOL = 'rescind-writer-outbox';

/** A relay's UPDATE, waiting on a table lock that the freezing session holds. */
export interface BlockedRelay {
  pid: number;
  waitEvent: string;
  query: string;
}

/**
 * Widens, from outside the writer (no hook in production code), the relay's window between the
 * broker's acknowledgement and marking the rows published (`publishPending` in
 * apps/revocation-writer/src/outbox/outbox.repository.ts), so that a test can SIGKILL the writer
 * inside it:
 *
 * 1. {@link holdRelay}: a session-level lock on the relay's advisory key. The relay's
 *    `pg_try_advisory_xact_lock` fails, every pass publishes nothing, acknowledged rows pile up.
 * 2. {@link freezeOutbox}: `LOCK TABLE outbox IN SHARE MODE` in an open transaction. It conflicts
 *    with the ROW EXCLUSIVE of an INSERT or UPDATE, not with the ROW SHARE of `SELECT ... FOR
 *    UPDATE` nor with the ACCESS SHARE of the heartbeat's read: no new row commits (the pending
 *    set is fixed), but a relay can still lock the pending rows and publish them.
 * 3. {@link releaseRelay}: the next relay pass takes the rows, Kafka acknowledges them, and the
 *    pass waits on its `UPDATE outbox SET published_at` ({@link waitForBlockedRelay}) until the
 *    freeze ends or its statement timeout (DATABASE_STATEMENT_TIMEOUT_MS, 10 s) cancels it.
 *
 * Every session is a connection of its own (a pg Client runs one query at a time).
 */
export class OutboxWindow {
  private holding = false;
  private frozen = false;
  private freezerPid = 0;

  private constructor(
    private readonly schema: string,
    /** Holds the relay's advisory lock. */
    private readonly holder: Client,
    /** Holds the SHARE lock on the outbox. */
    private readonly freezer: Client,
    /** Everything else: counts, pg_stat_activity, the lock probe. */
    private readonly probe: Client,
  ) {}

  static async open(schema: TestSchema): Promise<OutboxWindow> {
    const clients: Client[] = [];
    try {
      for (let i = 0; i < 3; i += 1) {
        clients.push(await connectToSchema(schema));
      }
    } catch (error) {
      await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
      throw error;
    }
    const [holder, freezer, probe] = clients as [Client, Client, Client];
    return new OutboxWindow(schema.schema, holder, freezer, probe);
  }

  /** The relay's advisory lock, as `publishPending` takes it (same key, same cast). */
  async holdRelay(): Promise<void> {
    await this.holder.query(`SELECT pg_advisory_lock(hashtext('rescind.outbox-relay.' || $1))`, [
      this.schema,
    ]);
    this.holding = true;
  }

  /** Seqs of the outbox rows not yet published, ascending. */
  async unpublished(): Promise<number[]> {
    const { rows } = await this.probe.query<{ seq: string }>(
      'SELECT seq FROM outbox WHERE published_at IS NULL ORDER BY seq',
    );
    return rows.map((r) => Number(r.seq));
  }

  /** Of `seqs`, those whose outbox row is still unpublished (a row that is gone counts as not). */
  async stillUnpublished(seqs: number[]): Promise<number[]> {
    const { rows } = await this.probe.query<{ seq: string }>(
      'SELECT seq FROM outbox WHERE seq = ANY($1::bigint[]) AND published_at IS NULL ORDER BY seq',
      [seqs],
    );
    return rows.map((r) => Number(r.seq));
  }

  /**
   * Takes the SHARE lock (it waits for the ingest transactions that already inserted; those
   * that insert later wait for it) and returns the pending seqs, which it fixes.
   */
  async freezeOutbox(): Promise<number[]> {
    await this.freezer.query('BEGIN');
    this.frozen = true;
    await this.freezer.query(`SET LOCAL lock_timeout = '5s'`);
    await this.freezer.query('LOCK TABLE outbox IN SHARE MODE');
    const me = await this.freezer.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    this.freezerPid = me.rows[0]!.pid;
    const { rows } = await this.freezer.query<{ seq: string }>(
      'SELECT seq FROM outbox WHERE published_at IS NULL ORDER BY seq',
    );
    return rows.map((r) => Number(r.seq));
  }

  /** Ends the advisory lock; the relay's next pass (poll interval) goes ahead. */
  async releaseRelay(): Promise<void> {
    const { rows } = await this.holder.query<{ released: boolean }>(
      `SELECT pg_advisory_unlock(hashtext('rescind.outbox-relay.' || $1)) AS released`,
      [this.schema],
    );
    this.holding = false;
    if (!rows[0]?.released) {
      throw new Error('the relay advisory lock was not held');
    }
  }

  /**
   * Waits until a session of the outbox pool runs `UPDATE outbox` and waits on a lock that the
   * freezing session holds: the relay has published (it updates only after the broker
   * acknowledged) and cannot mark the rows. Polls every 5 ms; fails with what the outbox pool's
   * sessions were doing.
   */
  async waitForBlockedRelay(timeoutMs: number): Promise<BlockedRelay> {
    try {
      return await waitFor(
        'the relay to wait on its UPDATE of the outbox',
        async () => {
          const { rows } = await this.probe.query<BlockedRelay>(
            `SELECT pid, wait_event_type || '/' || wait_event AS "waitEvent", query
               FROM pg_stat_activity
              WHERE application_name = $1 AND datname = current_database()
                AND state = 'active' AND wait_event_type = 'Lock'
                AND query LIKE 'UPDATE outbox SET published_at%'
                AND $2::int = ANY(pg_blocking_pids(pid))`,
            [OUTBOX_POOL, this.freezerPid],
          );
          return rows[0];
        },
        { timeoutMs, intervalMs: 5 },
      );
    } catch (error) {
      throw new Error(`${String(error)}; sessions: ${JSON.stringify(await this.sessions())}`);
    }
  }

  /** What the writer's sessions on this database do now, for failure messages. */
  async sessions(): Promise<Array<Record<string, unknown>>> {
    const { rows } = await this.probe.query<Record<string, unknown>>(
      `SELECT pid, application_name, state, wait_event_type, wait_event, left(query, 80) AS query,
              pg_blocking_pids(pid) AS blocked_by
         FROM pg_stat_activity
        WHERE datname = current_database() AND application_name LIKE 'rescind-writer%'`,
    );
    return rows;
  }

  /**
   * Of `seqs`, those whose outbox row another transaction holds locked now (`FOR UPDATE SKIP
   * LOCKED` skips exactly those; the probe's own locks end with its rollback at once).
   */
  async lockedByOthers(seqs: number[]): Promise<number[]> {
    await this.probe.query('BEGIN');
    try {
      const { rows } = await this.probe.query<{ seq: string }>(
        'SELECT seq FROM outbox WHERE seq = ANY($1::bigint[]) FOR UPDATE SKIP LOCKED',
        [seqs],
      );
      const free = new Set(rows.map((r) => Number(r.seq)));
      return seqs.filter((s) => !free.has(s));
    } finally {
      await this.probe.query('ROLLBACK');
    }
  }

  /** Ends the freeze (rollback): waiting inserts and updates go ahead. */
  async thaw(): Promise<void> {
    if (this.frozen) {
      this.frozen = false;
      await this.freezer.query('ROLLBACK');
    }
  }

  /** Waits until backend `pid` is gone (its client died; its open transaction rolled back). */
  async waitForBackendGone(pid: number, timeoutMs = 10_000): Promise<void> {
    await waitFor(
      `backend ${pid} to end`,
      async () => {
        const { rows } = await this.probe.query('SELECT 1 FROM pg_stat_activity WHERE pid = $1', [
          pid,
        ]);
        return rows.length === 0;
      },
      { timeoutMs, intervalMs: 20 },
    );
  }

  /** Releases whatever it still holds and closes its sessions; safe after a failure half way. */
  async close(): Promise<void> {
    await this.thaw().catch(() => undefined);
    if (this.holding) {
      await this.releaseRelay().catch(() => undefined);
    }
    await Promise.all(
      [this.holder, this.freezer, this.probe].map((c) => c.end().catch(() => undefined)),
    );
  }
}
