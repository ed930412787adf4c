import type { Queryable } from '../db/database';
import { invalidInput, LtstError } from '../errors';
import { instrument, type MemoryContext } from './context';
import { jsonObjectText } from './json-input';
import { INT4_MAX, INT4_MIN, VARCHAR_LIMITS } from '../schema/column-limits';
import { requireId, requireText, requireWholeNumber, shown } from './validation';

/** Where an event is in its life: pending -> processing -> done, or back to pending / failed. */
export type EventStatus = 'pending' | 'processing' | 'done' | 'failed';

/** One row of event_ledger, the queue that bridges the memory to n8n workflows. */
export interface LedgerEvent {
  eventId: number;
  eventType: string;
  eventData: Record<string, unknown>;
  status: EventStatus;
  /** Higher is claimed first. */
  priority: number;
  createdAt: Date;
  /** Set when the event is done or finally failed. */
  processedAt: Date | null;
  retryCount: number;
  maxRetries: number;
  /** The last failure's message. */
  errorMessage: string | null;
  metadata: Record<string, unknown>;
}

export interface LogEventInput {
  eventType: string;
  eventData?: Record<string, unknown>;
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
}

interface EventRow {
  event_id: string | number | bigint;
  event_type: string;
  event_data: Record<string, unknown>;
  status: EventStatus;
  priority: number;
  created_at: Date;
  processed_at: Date | null;
  retry_count: number;
  max_retries: number;
  error_message: string | null;
  metadata: Record<string, unknown>;
}

const MAX_CLAIM = 1000;
const ORDER = 'priority DESC, created_at, event_id';

const toEvent = (row: EventRow): LedgerEvent => ({
  eventId: Number(row.event_id),
  eventType: row.event_type,
  eventData: row.event_data,
  status: row.status,
  priority: row.priority,
  createdAt: row.created_at,
  processedAt: row.processed_at,
  retryCount: row.retry_count,
  maxRetries: row.max_retries,
  errorMessage: row.error_message,
  metadata: row.metadata,
});

function requirePriority(value: unknown): number {
  if (value === undefined || value === null) return 0;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < INT4_MIN || value > INT4_MAX) {
    throw invalidInput('priority', `is ${shown(value)}`, `Use an integer from ${INT4_MIN} to ${INT4_MAX}; higher is processed first.`);
  }
  return value;
}

/** An event id as returned by logEvent or claimEvents: a positive integer (a digit string is accepted). */
function requireEventId(value: unknown): string {
  const text = typeof value === 'number' || typeof value === 'bigint' ? String(value) : value;
  if (typeof text !== 'string' || !/^[1-9][0-9]{0,18}$/.test(text) || BigInt(text) > 9_223_372_036_854_775_807n) {
    throw invalidInput('eventId', `is ${String(value)}`, 'Pass the eventId of an event returned by claimEvents (a positive integer).');
  }
  return text;
}

function requireEventTypes(value: unknown): string[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value) || value.length === 0) {
    throw invalidInput('eventTypes', 'is not a non-empty list', 'Pass a list of event type names, or leave eventTypes out to claim every type.');
  }
  return value.map((type, index) => requireId(`eventTypes[${index}]`, type));
}

function requireLimit(value: unknown): number {
  if (value === undefined || value === null) throw invalidInput('limit', 'is missing', `Set limit to how many events to claim, from 1 to ${MAX_CLAIM}.`);
  return requireWholeNumber('limit', value, 0, MAX_CLAIM, 1);
}

/**
 * Explains why a processing event could not be finished: NOT_FOUND when it does not exist,
 * INVALID_INPUT (field eventId) when it is not being processed.
 */
async function refuseFinish(db: Queryable, ctx: MemoryContext, eventId: string, action: string): Promise<never> {
  const { rows } = await db.query<{ status: EventStatus }>(`SELECT status FROM ${ctx.schema}.event_ledger WHERE event_id = $1`, [eventId]);
  if (rows.length === 0) {
    throw new LtstError('NOT_FOUND', `Event ${eventId} does not exist, so it cannot be ${action}`, { hint: 'Pass the eventId of an event returned by claimEvents.' });
  }
  throw new LtstError('INVALID_INPUT', `Event ${eventId} is ${rows[0].status}, not processing, so it cannot be ${action}`, {
    field: 'eventId',
    hint: 'Only a claimed event (status processing) can be completed or failed; claim it with claimEvents first, and finish it only once.',
  });
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
      return instrument(ctx, 'log_event', { parameters: { eventType, priority, maxRetries } }, () =>
        ctx.run(async (db) => {
          const { rows } = await db.query<EventRow>(
            `INSERT INTO ${ledger} (event_type, event_data, priority, max_retries, metadata)
             VALUES ($1, $2::jsonb, $3, $4, $5::jsonb) RETURNING *`,
            [eventType, eventData, priority, maxRetries, metadata],
          );
          return toEvent(rows[0]);
        }),
      );
    },

    /**
     * Marks up to `limit` pending events processing and returns them, highest priority then oldest
     * first. Concurrent workers never get the same event: rows another worker holds are skipped.
     */
    async claimEvents(input: ClaimEventsInput): Promise<LedgerEvent[]> {
      const eventTypes = requireEventTypes(input?.eventTypes);
      const limit = requireLimit(input?.limit);
      return instrument(
        ctx,
        'claim_events',
        { parameters: { eventTypes, limit } },
        () =>
          ctx.run(async (db) => {
            const values: unknown[] = [limit];
            if (eventTypes) values.push(eventTypes);
            const { rows } = await db.query<EventRow>(
              `WITH claimed AS (
                 UPDATE ${ledger} SET status = 'processing'
                  WHERE status = 'pending' AND event_id IN (
                    SELECT event_id FROM ${ledger}
                     WHERE status = 'pending'${eventTypes ? ' AND event_type = ANY($2::text[])' : ''}
                     ORDER BY ${ORDER}
                     LIMIT $1
                       FOR UPDATE SKIP LOCKED)
                 RETURNING *)
               SELECT * FROM claimed ORDER BY ${ORDER}`,
              values,
            );
            return rows.map(toEvent);
          }),
        (events) => events.length,
      );
    },

    /** processing -> done. Refuses an unknown event (NOT_FOUND) or one not processing (INVALID_INPUT). */
    async completeEvent(eventId: number | string): Promise<LedgerEvent> {
      const id = requireEventId(eventId);
      return instrument(ctx, 'complete_event', { parameters: { eventId: id } }, () =>
        ctx.run(async (db) => {
          const { rows } = await db.query<EventRow>(
            `UPDATE ${ledger} SET status = 'done', processed_at = now() WHERE event_id = $1 AND status = 'processing' RETURNING *`,
            [id],
          );
          return rows.length > 0 ? toEvent(rows[0]) : refuseFinish(db, ctx, id, 'completed');
        }),
      );
    },

    /**
     * Records a failure of a processing event: retry_count goes up; the event returns to pending
     * while retry_count < max_retries, else it is failed (processed_at set). error_message keeps
     * the latest failure either way. Refuses like completeEvent.
     */
    async failEvent(eventId: number | string, error: string): Promise<LedgerEvent> {
      const id = requireEventId(eventId);
      const message = requireText('error', error, ctx.options.maxContentBytes);
      return instrument(ctx, 'fail_event', { parameters: { eventId: id } }, () =>
        ctx.run(async (db) => {
          const { rows } = await db.query<EventRow>(
            `UPDATE ${ledger}
                SET retry_count = retry_count + 1,
                    status = CASE WHEN retry_count + 1 < max_retries THEN 'pending' ELSE 'failed' END,
                    processed_at = CASE WHEN retry_count + 1 < max_retries THEN NULL ELSE now() END,
                    error_message = $2
              WHERE event_id = $1 AND status = 'processing'
             RETURNING *`,
            [id, message],
          );
          return rows.length > 0 ? toEvent(rows[0]) : refuseFinish(db, ctx, id, 'failed');
        }),
      );
    },
  };
}
