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
  await requireOwner(db, ctx, rows[0]?.user_id, userId, sessionId);
}

/** Refuses a session that does not exist (`owner` undefined: not visible) or belongs to another user. */
export async function requireOwner(db: Queryable, ctx: MemoryContext, owner: string | undefined, userId: string, sessionId: string): Promise<void> {
  if (owner === undefined && !(await sessionExists(db, ctx, sessionId))) {
    throw new LtstError('NOT_FOUND', `Session "${sessionId}" does not exist`, { hint: 'Store a message in it first, or check the session id.' });
  }
  if (owner !== userId) throw forbiddenSession(sessionId);
}

/**
 * Whether the session exists, whoever owns it. Row-level security hides another user's session, so
 * a session not seen may still be taken; asked only then, so the usual path costs nothing.
 */
export async function sessionExists(db: Queryable, ctx: MemoryContext, sessionId: string): Promise<boolean> {
  const { rows } = await db.query<{ found: boolean }>(`SELECT ${ctx.schema}.ltst_session_exists($1) AS found`, [sessionId]);
  return rows[0].found;
}

export function forbiddenSession(sessionId: string): LtstError {
  return new LtstError('FORBIDDEN', `Session "${sessionId}" belongs to another user`, {
    hint: 'Use a session id that is unique per user (for example prefix it with the user id).',
  });
}
