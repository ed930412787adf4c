import type { Queryable } from '../db/database';
import { invalidInput, LtstError } from '../errors';
import { requireId, requireRowId, requireWholeNumber, shown } from './validation';

/** Checks of the event ledger's inputs, and why a claimed event could not be finished. */

const MAX_CLAIM = 1000;
/** The lease of a claim when claimEvents is not given one: 5 minutes. */
export const DEFAULT_LEASE_SECONDS = 300;
/** The longest lease: a day. A longer one would hide a dead worker's events for longer still. */
export const MAX_LEASE_SECONDS = 86_400;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** What completeEvent and failEvent need: the event and the token of the claim that holds it. */
export interface EventClaim {
  eventId: number | string;
  /** The claimToken claimEvents returned with this event. */
  claimToken: string;
}

/** An event id as returned by logEvent or claimEvents: a positive integer (a digit string is accepted). */
const requireEventId = (value: unknown): string => requireRowId('eventId', value, 'Pass the eventId of an event returned by claimEvents.');

/** The event and claim token of a claimed event (the event as claimEvents returned it will do). */
export function requireClaim(claim: unknown): { id: string; token: string } {
  if (typeof claim !== 'object' || claim === null) {
    throw invalidInput('claim', `is ${shown(claim)}, not a claimed event`, 'Pass the event as claimEvents returned it, or { eventId, claimToken }.');
  }
  const { eventId, claimToken } = claim as Partial<EventClaim>;
  const id = requireEventId(eventId);
  if (typeof claimToken !== 'string' || !UUID.test(claimToken)) {
    throw invalidInput(
      'claimToken',
      claimToken === undefined || claimToken === '' ? 'is missing' : 'is not a claim token (a UUID)',
      'Pass the claimToken that claimEvents returned with this event (in n8n: {{ $json.claimToken }}).',
    );
  }
  return { id, token: claimToken.toLowerCase() };
}

export function requireEventTypes(value: unknown): string[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value) || value.length === 0) {
    throw invalidInput('eventTypes', 'is not a non-empty list', 'Pass a list of event type names, or leave eventTypes out to claim every type.');
  }
  return value.map((type, index) => requireId(`eventTypes[${index}]`, type));
}

export function requireLimit(value: unknown): number {
  if (value === undefined || value === null) throw invalidInput('limit', 'is missing', `Set limit to how many events to claim, from 1 to ${MAX_CLAIM}.`);
  return requireWholeNumber('limit', value, 0, MAX_CLAIM, 1);
}

export function requireLeaseSeconds(value: unknown): number {
  return requireWholeNumber('leaseSeconds', value, DEFAULT_LEASE_SECONDS, MAX_LEASE_SECONDS, 1);
}

interface FinishState {
  status: string;
  held: boolean;
  claimed_at: Date | null;
  lease_expires_at: Date | null;
}

const iso = (date: Date | null) => (date ? date.toISOString() : 'unknown');

/**
 * Explains why an event could not be finished with this claim: NOT_FOUND when it does not exist;
 * INVALID_INPUT (field eventId) when this claim already finished it or it was never claimed;
 * STALE_CLAIM when the claim no longer holds it (its lease expired and a later claim took the
 * event back, or the token is wrong).
 */
export async function refuseFinish(db: Queryable, ledger: string, id: string, token: string, action: string): Promise<never> {
  const { rows } = await db.query<FinishState>(
    `SELECT status, claim_token IS NOT DISTINCT FROM $2::uuid AS held, claimed_at, lease_expires_at FROM ${ledger} WHERE event_id = $1`,
    [id, token],
  );
  if (rows.length === 0) {
    throw new LtstError('NOT_FOUND', `Event ${id} does not exist, so it cannot be ${action}`, { hint: 'Pass the eventId of an event returned by claimEvents.' });
  }
  const [event] = rows;
  if ((event.held && event.status !== 'processing') || event.claimed_at === null) {
    throw new LtstError('INVALID_INPUT', `Event ${id} is ${event.status}, not processing, so it cannot be ${action}`, {
      field: 'eventId',
      hint: 'Only a claimed event (status processing) can be completed or failed; claim it with claimEvents first, and finish it only once.',
    });
  }
  const now =
    event.status === 'processing'
      ? `another claim holds it now (claimed at ${iso(event.claimed_at)}, lease until ${iso(event.lease_expires_at)})`
      : `it is ${event.status} now`;
  throw new LtstError('STALE_CLAIM', `Event ${id} cannot be ${action} with this claim token: ${now}. The lease of this claim expired and the event was taken back, or the token is wrong`, {
    hint: 'Finish each event within its lease, or raise leaseSeconds when claiming (default 300 s); pass the claimToken claimEvents returned with the event. Do not finish it again: it is handled by the claim that took it over.',
  });
}
