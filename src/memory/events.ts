import { invalidInput } from '../errors';
import { redactSecrets } from '../redact';
import { instrument, type MemoryContext } from './context';
import { refuseFinish, requireClaim, requireEventTypes, requireLeaseSeconds, requireLimit, type EventClaim } from './event-checks';
import { jsonObjectText } from './json-input';
import { INT4_MAX, INT4_MIN, VARCHAR_LIMITS } from '../schema/column-limits';
import { requireId, requireText, requireWholeNumber, shown } from './validation';

export type { EventClaim } from './event-checks';

/** Where an event is in its life: pending -> processing -> done, or back to pending / failed. */
export type EventStatus = 'pending' | 'processing' | 'done' | 'failed';

/** One row of event_ledger, the queue that bridges the memory to n8n workflows. */
export interface LedgerEvent {
  eventId: number;
  eventType: string;
  eventData: Record<string, unknown>;
  /** The user the event concerns, if any: deleted and exported with that user's data. */
  userId: string | null;
  status: EventStatus;
  /** Higher is claimed first. */
  priority: number;
  createdAt: Date;
  /** Set when the event is done or finally failed. */
  processedAt: Date | null;
  retryCount: number;
  maxRetries: number;
  /** The last failure's message (also when a lease expired). */
  errorMessage: string | null;
  metadata: Record<string, unknown>;
  /** When the latest claim took the event. */
  claimedAt: Date | null;
  /** Until when the latest claim holds the event; after it, the next claim takes the event back. */
  leaseExpiresAt: Date | null;
  /** The latest claim's token, which completeEvent and failEvent require; null once a lease expired. */
  claimToken: string | null;
}

/** An event as claimEvents hands it out: held by this claim until leaseExpiresAt. */
export interface ClaimedEvent extends LedgerEvent {
  claimedAt: Date;
  leaseExpiresAt: Date;
  claimToken: string;
}

export interface LogEventInput {
  eventType: string;
  eventData?: Record<string, unknown>;
  /** The user the event concerns (optional): deleteUserData removes it and exportUserData includes it. */
  userId?: string | null;
  /** Any integer; higher is claimed first (default 0). */
  priority?: number;
  /** How many failures an event survives before it is marked failed (default 3). */
  maxRetries?: number;
  metadata?: Record<string, unknown>;
}

export interface ClaimEventsInput {
  /** Only these event types (default: all). */
  eventTypes?: string[];
  /** How many events to claim at most, 1 to 1000. */
  limit: number;
  /**
   * How long the claim holds its events, 1 s to 1 day (default 300 s). An event neither completed
   * nor failed by then goes to the next claim, counted as a retry.
   */
  leaseSeconds?: number;
}

interface EventRow {
  event_id: string | number | bigint;
  event_type: string;
  event_data: Record<string, unknown>;
  user_id: string | null;
  status: EventStatus;
  priority: number;
  created_at: Date;
  processed_at: Date | null;
  retry_count: number;
  max_retries: number;
  error_message: string | null;
  metadata: Record<string, unknown>;
  claimed_at: Date | null;
  lease_expires_at: Date | null;
  claim_token: string | null;
}

const ORDER = 'priority DESC, created_at, event_id';
/** A failure or an expired lease: one more retry, back to pending while retries remain, else failed. */
const COUNT_A_RETRY = `retry_count = retry_count + 1,
  status = CASE WHEN retry_count + 1 < max_retries THEN 'pending' ELSE 'failed' END,
  processed_at = CASE WHEN retry_count + 1 < max_retries THEN NULL ELSE now() END`;

const toEvent = (row: EventRow): LedgerEvent => ({
  eventId: Number(row.event_id),
  eventType: row.event_type,
  eventData: row.event_data,
  userId: row.user_id,
  status: row.status,
  priority: row.priority,
  createdAt: row.created_at,
  processedAt: row.processed_at,
  retryCount: row.retry_count,
  maxRetries: row.max_retries,
  errorMessage: row.error_message,
  metadata: row.metadata,
  claimedAt: row.claimed_at,
  leaseExpiresAt: row.lease_expires_at,
  claimToken: row.claim_token,
});

function requirePriority(value: unknown): number {
  if (value === undefined || value === null) return 0;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < INT4_MIN || value > INT4_MAX) {
    throw invalidInput('priority', `is ${shown(value)}`, `Use an integer from ${INT4_MIN} to ${INT4_MAX}; higher is processed first.`);
  }
  return value;
}

export function eventOperations(ctx: MemoryContext) {
  const ledger = `${ctx.schema}.event_ledger`;

  return {
    /** Appends an event to the ledger as pending and returns it. */
    async logEvent(input: LogEventInput): Promise<LedgerEvent> {
      const eventType = requireId('eventType', input?.eventType, VARCHAR_LIMITS.event_ledger.event_type);
      const eventData = jsonObjectText('eventData', input.eventData, ctx.options.maxContentBytes);
      const priority = requirePriority(input.priority);
      const maxRetries = requireWholeNumber('maxRetries', input.maxRetries, 3);
      const metadata = jsonObjectText('metadata', input.metadata, ctx.options.maxContentBytes);
      const userId = input.userId === undefined || input.userId === null || input.userId === '' ? null : requireId('userId', input.userId);
      return instrument(ctx, 'log_event', { userId: userId ?? undefined, parameters: { eventType, priority, maxRetries } }, () =>
        ctx.run(async (db) => {
          const { rows } = await db.query<EventRow>(
            `INSERT INTO ${ledger} (event_type, event_data, priority, max_retries, metadata, user_id)
             VALUES ($1, $2::jsonb, $3, $4, $5::jsonb, $6) RETURNING *`,
            [eventType, eventData, priority, maxRetries, metadata, userId],
          );
          return toEvent(rows[0]);
        }),
      );
    },

    /**
     * Claims up to `limit` events, highest priority then oldest first, for `leaseSeconds`: each
     * comes with a claimToken that completeEvent and failEvent require. Concurrent workers never
     * get the same event (rows another worker holds are skipped). Up to `limit` events whose lease
     * expired go back first, counted as a retry: pending again (and claimable by this very claim)
     * while retries remain, else failed.
     */
    async claimEvents(input: ClaimEventsInput): Promise<ClaimedEvent[]> {
      const eventTypes = requireEventTypes(input?.eventTypes);
      const limit = requireLimit(input?.limit);
      const leaseSeconds = requireLeaseSeconds(input?.leaseSeconds);
      const typeFilter = eventTypes ? ' AND event_type = ANY($2::text[])' : '';
      const types = eventTypes ? [eventTypes] : [];
      return instrument(
        ctx,
        'claim_events',
        { parameters: { eventTypes, limit, leaseSeconds } },
        () =>
          ctx.transaction(async (tx) => {
            // Take back at most `limit` expired events: the work per claim stays bounded, and the
            // rows this claim locks are ones it can hand out, not ones concurrent claimers must skip.
            // The rows are locked in a MATERIALIZED CTE, run exactly once: as an IN (subquery) the
            // planner may run the locking subquery again, and rows it locked but did not update were
            // then skipped by every other claimer (measured: 49 of 60 handed out under load).
            await tx.query(
              `WITH expired AS MATERIALIZED (
                 SELECT event_id FROM ${ledger}
                  WHERE status = 'processing' AND lease_expires_at < now()${typeFilter}
                  ORDER BY lease_expires_at
                  LIMIT $1
                    FOR UPDATE SKIP LOCKED)
               UPDATE ${ledger} l
                  SET ${COUNT_A_RETRY},
                      error_message = 'lease expired at ' || lease_expires_at || ' before the event was completed or failed (its worker may have stopped)',
                      claim_token = NULL
                 FROM expired WHERE l.event_id = expired.event_id`,
              [limit, ...types],
            );
            const { rows } = await tx.query<EventRow>(
              `WITH chosen AS MATERIALIZED (
                 SELECT event_id FROM ${ledger}
                  WHERE status = 'pending'${typeFilter}
                  ORDER BY ${ORDER}
                  LIMIT $1
                    FOR UPDATE SKIP LOCKED
               ), claimed AS (
                 UPDATE ${ledger} l
                    SET status = 'processing', claimed_at = now(), lease_expires_at = now() + $${types.length + 2}::int * interval '1 second',
                        claim_token = gen_random_uuid()
                   FROM chosen WHERE l.event_id = chosen.event_id
                 RETURNING l.*)
               SELECT * FROM claimed ORDER BY ${ORDER}`,
              [limit, ...types, leaseSeconds],
            );
            return rows.map((row) => toEvent(row) as ClaimedEvent);
          }),
        (events) => events.length,
      );
    },

    /**
     * processing -> done, by the claim that holds the event. Refuses an unknown event (NOT_FOUND),
     * one not claimed or already finished (INVALID_INPUT), and a claim that no longer holds it
     * (STALE_CLAIM). A claim whose lease ran out may still finish while no other claim took it back.
     */
    async completeEvent(claim: EventClaim): Promise<LedgerEvent> {
      const { id, token } = requireClaim(claim);
      return instrument(ctx, 'complete_event', { parameters: { eventId: id } }, () =>
        ctx.run(async (db) => {
          const { rows } = await db.query<EventRow>(
            `UPDATE ${ledger} SET status = 'done', processed_at = now()
              WHERE event_id = $1 AND status = 'processing' AND claim_token = $2::uuid RETURNING *`,
            [id, token],
          );
          return rows.length > 0 ? toEvent(rows[0]) : refuseFinish(db, ledger, id, token, 'completed');
        }),
      );
    },

    /**
     * Records a failure of an event by the claim that holds it: retry_count goes up; the event
     * returns to pending while retry_count < max_retries, else it is failed (processed_at set).
     * error_message keeps the latest failure either way. Refuses like completeEvent.
     */
    async failEvent(claim: EventClaim, error: string): Promise<LedgerEvent> {
      const { id, token } = requireClaim(claim);
      // The ledger outlives the failure and is read by other workflows: no credential it quotes is kept.
      const message = redactSecrets(requireText('error', error, ctx.options.maxContentBytes));
      return instrument(ctx, 'fail_event', { parameters: { eventId: id } }, () =>
        ctx.run(async (db) => {
          const { rows } = await db.query<EventRow>(
            `UPDATE ${ledger}
                SET ${COUNT_A_RETRY},
                    error_message = $3
              WHERE event_id = $1 AND status = 'processing' AND claim_token = $2::uuid
             RETURNING *`,
            [id, token, message],
          );
          return rows.length > 0 ? toEvent(rows[0]) : refuseFinish(db, ledger, id, token, 'failed');
        }),
      );
    },
  };
}
