import type { Queryable } from '../db/database';
import { LtstError } from '../errors';
import type { MemoryContext } from './context';

/**
 * The session's owner must be `userId`: another user's session is FORBIDDEN (never silently
 * used), a missing one NOT_FOUND. Pass `lock` inside a transaction to hold the row (FOR UPDATE).
 */
export async function requireOwnedSession(db: Queryable, ctx: MemoryContext, userId: string, sessionId: string, lock = false): Promise<void> {
  const { rows } = await db.query<{ user_id: string }>(
    `SELECT user_id FROM ${ctx.schema}.conversation_sessions WHERE session_id = $1${lock ? ' FOR UPDATE' : ''}`,
    [sessionId],
  );
  requireOwner(rows[0]?.user_id, userId, sessionId);
}

/** Refuses a session that does not exist (`owner` undefined) or belongs to another user. */
export function requireOwner(owner: string | undefined, userId: string, sessionId: string): void {
  if (owner === undefined) {
    throw new LtstError('NOT_FOUND', `Session "${sessionId}" does not exist`, { hint: 'Store a message in it first, or check the session id.' });
  }
  if (owner !== userId) throw forbiddenSession(sessionId);
}

export function forbiddenSession(sessionId: string): LtstError {
  return new LtstError('FORBIDDEN', `Session "${sessionId}" belongs to another user`, {
    hint: 'Use a session id that is unique per user (for example prefix it with the user id).',
  });
}
