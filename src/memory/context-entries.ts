import { binder, type Bind, type Queryable } from '../db/database';
import { LtstError } from '../errors';
import { instrument, sha256, type MemoryContext } from './context';
import { requireOwnedSession } from './ownership';
import { VARCHAR_LIMITS } from '../schema/column-limits';
import { jsonObjectText } from './json-input';
import { requireId, requireScore, requireText, requireWholeNumber } from './validation';
import { toDate } from './rows';

/** One entry of a session's live context (conversation_context). */
export interface ContextEntry {
  contextId: number;
  sessionId: string;
  userId: string;
  type: string;
  key: string;
  value: string;
  relevance: number;
  /** sha256 of `${type}\0${key}\0${value}`. */
  hash: string;
  metadata: Record<string, unknown>;
  createdAt: Date;
  updatedAt: Date;
  /** NULL: never expires. */
  expiresAt: Date | null;
}

export interface SetContextInput {
  sessionId: string;
  userId: string;
  type: string;
  key: string;
  value: string;
  /** 0..1, default 0. */
  relevance?: number;
  /** The entry expires this many seconds after now (the memory clock); absent: never. */
  ttlSeconds?: number;
  metadata?: Record<string, unknown>;
}

export interface GetContextInput {
  sessionId: string;
  userId: string;
  /** Only entries of this type. */
  type?: string;
}

export interface DeleteContextInput {
  sessionId: string;
  userId: string;
  type: string;
  key: string;
}

export interface ContextRow {
  context_id: string | number;
  session_id: string;
  user_id: string;
  context_type: string;
  context_key: string;
  context_value: string;
  relevance_score: number;
  context_hash: string;
  metadata: Record<string, unknown>;
  created_at: Date | string;
  updated_at: Date | string;
  expires_at: Date | string | null;
}

const COLUMNS = 'context_id, session_id, user_id, context_type, context_key, context_value, relevance_score, context_hash, metadata, created_at, updated_at, expires_at';
export function toEntry(row: ContextRow): ContextEntry {
  return {
    contextId: Number(row.context_id),
    sessionId: row.session_id,
    userId: row.user_id,
    type: row.context_type,
    key: row.context_key,
    value: row.context_value,
    relevance: Number(row.relevance_score),
    hash: row.context_hash,
    metadata: row.metadata ?? {},
    createdAt: toDate(row.created_at),
    updatedAt: toDate(row.updated_at),
    expiresAt: row.expires_at === null ? null : toDate(row.expires_at),
  };
}

const requireType = (value: unknown) => requireId('type', value, VARCHAR_LIMITS.conversation_context.context_type);

/** FORBIDDEN when the session belongs to another user; a missing session is simply empty. */
async function refuseForeignSession(db: Queryable, ctx: MemoryContext, userId: string, sessionId: string): Promise<void> {
  try {
    await requireOwnedSession(db, ctx, userId, sessionId);
  } catch (error) {
    if (!(error instanceof LtstError && error.code === 'NOT_FOUND')) throw error;
  }
}

export const contextHash = (type: string, key: string, value: string) => sha256(`${type}\u0000${key}\u0000${value}`);

/** The statement reading the session's entries not expired at `now`, most relevant and most recent first (only `userId`'s). */
export function liveContextSql(ctx: MemoryContext, bind: Bind, userId: string, sessionId: string, type: string | null, now: Date): string {
  const typeValue = bind(type);
  return `SELECT ${COLUMNS} FROM ${ctx.schema}.conversation_context
      WHERE session_id = ${bind(sessionId)} AND user_id = ${bind(userId)} AND (${typeValue}::text IS NULL OR context_type = ${typeValue}::text)
        AND (expires_at IS NULL OR expires_at > ${bind(now)}::timestamptz)
      ORDER BY relevance_score DESC, updated_at DESC, context_id DESC`;
}

/** The session's entries not expired at `now`, most relevant and most recent first (only `userId`'s). */
export async function readLiveContext(db: Queryable, ctx: MemoryContext, userId: string, sessionId: string, type: string | null, now: Date): Promise<ContextEntry[]> {
  const values: unknown[] = [];
  const { rows } = await db.query<ContextRow>(liveContextSql(ctx, binder(values), userId, sessionId, type, now), values);
  return rows.map(toEntry);
}

export function contextOperations(ctx: MemoryContext) {
  const table = `${ctx.schema}.conversation_context`;
  const sessions = `${ctx.schema}.conversation_sessions`;

  return {
    /**
     * Creates or replaces the entry (session, type, key) in one statement. The session must exist
     * and belong to `userId` (FORBIDDEN otherwise, NOT_FOUND when missing).
     */
    async setContext(input: SetContextInput): Promise<ContextEntry> {
      const sessionId = requireId('sessionId', input?.sessionId);
      const userId = requireId('userId', input.userId);
      const type = requireType(input.type);
      const key = requireId('key', input.key, VARCHAR_LIMITS.conversation_context.context_key);
      const value = requireText('value', input.value, ctx.options.maxContentBytes);
      const relevance = requireScore('relevance', input.relevance, 0);
      const ttlSeconds = input.ttlSeconds === undefined || input.ttlSeconds === null ? undefined : requireWholeNumber('ttlSeconds', input.ttlSeconds, 0);
      const metadata = jsonObjectText('metadata', input.metadata, ctx.options.maxContentBytes);
      const now = ctx.options.clock();
      const expiresAt = ttlSeconds === undefined ? null : new Date(now.getTime() + ttlSeconds * 1000);
      return instrument(ctx, 'set_context', { userId, sessionId, parameters: { type, key } }, () =>
        ctx.run(async (db) => {
          const { rows } = await db.query<ContextRow>(
            `INSERT INTO ${table} AS c
                    (session_id, user_id, context_type, context_key, context_value, relevance_score, context_hash, metadata, expires_at)
             SELECT $1::text, $2::text, $3::text, $4::text, $5::text, $6::float8, $7::text, $8::jsonb, $9::timestamptz
              WHERE EXISTS (SELECT 1 FROM ${sessions} s WHERE s.session_id = $1::text AND s.user_id = $2::text)
             ON CONFLICT (session_id, context_type, context_key) DO UPDATE
                SET context_value = EXCLUDED.context_value, relevance_score = EXCLUDED.relevance_score,
                    context_hash = EXCLUDED.context_hash, metadata = EXCLUDED.metadata, expires_at = EXCLUDED.expires_at
              WHERE c.user_id = EXCLUDED.user_id
             RETURNING ${COLUMNS}`,
            [sessionId, userId, type, key, value, relevance, contextHash(type, key, value), metadata, expiresAt],
          );
          if (rows.length === 0) {
            // Nothing written: find out why (missing session, or another user's).
            await requireOwnedSession(db, ctx, userId, sessionId);
            throw new Error(`Context entry ${type}/${key} of session "${sessionId}" could not be written`);
          }
          return toEntry(rows[0]);
        }),
      );
    },

    /**
     * The session's live entries (not expired by the memory clock), most relevant and most recent
     * first. Another user's session is FORBIDDEN; a session that does not exist has none.
     */
    async getContext(input: GetContextInput): Promise<ContextEntry[]> {
      const sessionId = requireId('sessionId', input?.sessionId);
      const userId = requireId('userId', input.userId);
      const type = input.type === undefined || input.type === null ? null : requireType(input.type);
      const now = ctx.options.clock();
      return instrument(
        ctx,
        'get_context',
        { userId, sessionId, parameters: { type } },
        () =>
          ctx.run(async (db) => {
            const entries = await readLiveContext(db, ctx, userId, sessionId, type, now);
            // No rows may also mean another user's session: that is refused, never shown as empty.
            if (entries.length === 0) await refuseForeignSession(db, ctx, userId, sessionId);
            return entries;
          }),
        (entries) => entries.length,
      );
    },

    /** Removes the entry; true when there was one (FORBIDDEN for another user's session). */
    async deleteContext(input: DeleteContextInput): Promise<boolean> {
      const sessionId = requireId('sessionId', input?.sessionId);
      const userId = requireId('userId', input.userId);
      const type = requireType(input.type);
      const key = requireId('key', input.key);
      return instrument(
        ctx,
        'delete_context',
        { userId, sessionId, parameters: { type, key } },
        () =>
          ctx.run(async (db) => {
            const { rowCount } = await db.query(
              `DELETE FROM ${table} WHERE session_id = $1 AND user_id = $2 AND context_type = $3 AND context_key = $4`,
              [sessionId, userId, type, key],
            );
            if (rowCount === 0) await refuseForeignSession(db, ctx, userId, sessionId);
            return rowCount > 0;
          }),
        (removed) => (removed ? 1 : 0),
      );
    },
  };
}
