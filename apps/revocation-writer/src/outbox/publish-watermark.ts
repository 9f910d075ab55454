import type { OutboxProgress } from './outbox.repository';

/** What a heartbeat may claim about publishing (see `HeartbeatV1` in libs/contracts). */
export interface PublishClaim {
  /** Every revocation acknowledged before this instant (writer clock, ms) is on the topic. */
  publishedThrough: number;
  pending: number;
  seq: number;
}

/**
 * What the writer knows about how far publishing has got, for the heartbeat. Plain class: the
 * heartbeat feeds it outbox reads, the LISTEN session feeds it commit notifications and its
 * connection state, and it answers what a heartbeat sent now may truthfully claim.
 *
 * While PostgreSQL answers, the claim comes from the latest read: everything acknowledged before
 * the read began was committed before it (acknowledgement follows commit), so it is either
 * published or pending, and the oldest pending row's age says how far back publishing lags.
 *
 * While PostgreSQL does not answer, nothing new can be acknowledged (the writer answers 503 and
 * commits no input offset). If the last read found nothing pending and no commit was notified
 * since it began, every acknowledged revocation is on the topic, and stays so for as long as
 * the store is down: the claim moves on with the clock, and enforcement points stay fresh
 * instead of a whole fail-closed fleet denying traffic. Otherwise the claim stays where the
 * last read left it, and enforcement points turn stale once that is older than their bound.
 *
 * "No commit notified" covers this writer's own changes (the outbox repository reports every
 * enqueue, before its commit) and, through the LISTEN session, every other instance's, but only
 * while that session was connected when the read began. What is left, and documented rather
 * than closed: another instance commits while this writer's LISTEN session is down and PostgreSQL
 * answers for less than one heartbeat interval (a flap: no read sees it), or this writer is cut
 * off from PostgreSQL while another instance commits but cannot reach Kafka (two faults at once).
 */
export class PublishWatermark {
  private last: { startedAt: number; progress: OutboxProgress; listening: boolean } | null = null;
  private notifiedAt: number | null = null;
  private listening = false;

  /** A read of the outbox that began at `startedAt` (writer clock) succeeded. */
  observed(startedAt: number, progress: OutboxProgress): void {
    this.last = { startedAt, progress, listening: this.listening };
  }

  /** A change may have been committed: a commit notification, or this writer enqueued one. */
  notified(at: number): void {
    this.notifiedAt = Math.max(this.notifiedAt ?? at, at);
  }

  /** The LISTEN session connected (true) or lost its connection (false). */
  listenerConnected(connected: boolean): void {
    this.listening = connected;
  }

  /**
   * The claim for a heartbeat sent at `now`: after a successful read (`storeAnswered`), or after
   * a failed one. Null when nothing can be claimed (no read ever succeeded).
   */
  claim(now: number, storeAnswered: boolean): PublishClaim | null {
    const last = this.last;
    if (last === null) {
      return null;
    }
    const { pending, oldestPendingAgeMs, seq } = last.progress;
    const fromRead = Math.min(now, last.startedAt - (oldestPendingAgeMs ?? 0));
    if (storeAnswered) {
      return { publishedThrough: Math.max(0, fromRead), pending, seq };
    }
    const nothingSince =
      pending === 0 &&
      last.listening &&
      (this.notifiedAt === null || this.notifiedAt < last.startedAt);
    return {
      publishedThrough: nothingSince ? now : Math.max(0, fromRead),
      pending,
      seq,
    };
  }
}
