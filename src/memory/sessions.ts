import type { MemoryContext } from './context';
import { instrument } from './context';
import { forbiddenSession, requireOwnedSession, sessionExists } from './ownership';
import { VARCHAR_LIMITS } from '../schema/column-limits';
import { jsonObjectText } from './json-input';
import { optionalId, requireId, requireOneOf, requireText, requireVarchar, requireWholeNumber } from './validation';
import { toDate } from './rows';

export const SESSION_STATUSES = ['active', 'paused', 'archived'] as const;
export type SessionStatus = (typeof SESSION_STATUSES)[number];

export interface Session {
  sessionId: string;
  userId: string;
  sessionName: string | null;
  sessionType: string;
  status: SessionStatus;
  contextSummary: string | null;
  relevanceScore: number;
  sessionLength: number;
  metadata: Record<string, unknown>;
  createdAt: Date;
  lastActivity: Date;
  updatedAt: Date;
}

export interface SessionRow {
  session_id: string;
  user_id: string;
  session_name: string | null;
  session_type: string;
  status: SessionStatus;
  context_summary: string | null;
  relevance_score: number;
  session_length: number;
  metadata: Record<string, unknown>;
  created_at: Date | string;
  last_activity: Date | string;
  updated_at: Date | string;
}

export const toSession = (row: SessionRow): Session => ({
  sessionId: row.session_id,
  userId: row.user_id,
  sessionName: row.session_name,
  sessionType: row.session_type,
  status: row.status,
  contextSummary: row.context_summary,
  relevanceScore: row.relevance_score,
  sessionLength: row.session_length,
  metadata: row.metadata,
  createdAt: toDate(row.created_at),
  lastActivity: toDate(row.last_activity),
  updatedAt: toDate(row.updated_at),
});

export interface UpdateSessionInput {
  userId: string;
  sessionId: string;
  name?: string | null;
  type?: string;
  status?: SessionStatus;
  contextSummary?: string | null;
  /** Replaces the session's metadata. */
  metadata?: Record<string, unknown>;
}

const SESSION_TYPE_LENGTH = VARCHAR_LIMITS.conversation_sessions.session_type;

export function sessionOperations(ctx: MemoryContext) {
  const table = `${ctx.schema}.conversation_sessions`;
  /** undefined keeps the stored value, null clears it. */
  const optionalOrNull = <T>(value: unknown, check: (value: unknown) => T): T | null | undefined => (value === undefined || value === null ? value : check(value));
  return {
    /** The session, or null when it does not exist; another user's session is FORBIDDEN. */
    async getSession(userId: string, sessionId: string): Promise<Session | null> {
      requireId('userId', userId);
      requireId('sessionId', sessionId);
      return instrument(ctx, 'get_session', { userId, sessionId }, () =>
        ctx.run(async (db) => {
          const { rows } = await db.query<SessionRow>(`SELECT * FROM ${table} WHERE session_id = $1`, [sessionId]);
          const owner = rows[0]?.user_id;
          if (owner === undefined && !(await sessionExists(db, ctx, sessionId))) return null;
          if (owner !== userId) throw forbiddenSession(sessionId);
          return toSession(rows[0]);
        }),
      );
    },

    /** The user's sessions, most recently active first. */
    async listSessions(userId: string, filters: { status?: SessionStatus; type?: string; limit?: number; offset?: number } = {}): Promise<Session[]> {
      requireId('userId', userId);
      const status = filters.status === undefined ? null : requireOneOf('status', filters.status, SESSION_STATUSES);
      const type = optionalId('type', filters.type, SESSION_TYPE_LENGTH) ?? null;
      const limit = requireWholeNumber('limit', filters.limit, 50, 1000);
      const offset = requireWholeNumber('offset', filters.offset, 0);
      return instrument(ctx, 'list_sessions', { userId, parameters: filters }, async () =>
        (
          await ctx.run((db) =>
            db.query<SessionRow>(
              `SELECT * FROM ${table} WHERE user_id = $1 AND ($2::text IS NULL OR status = $2) AND ($3::text IS NULL OR session_type = $3)
                ORDER BY last_activity DESC, session_id LIMIT $4 OFFSET $5`,
              [userId, status, type, limit, offset],
            ),
          )
        ).rows.map(toSession),
        (sessions) => sessions.length,
      );
    },

    /** Changes name, type, status, summary or metadata; user_id never changes. */
    async updateSession(input: UpdateSessionInput): Promise<Session> {
      const userId = requireId('userId', input?.userId);
      const sessionId = requireId('sessionId', input.sessionId);
      const status = input.status === undefined ? null : requireOneOf('status', input.status, SESSION_STATUSES);
      const type = optionalId('type', input.type, SESSION_TYPE_LENGTH) ?? null;
      const name = optionalOrNull(input.name, (value) => requireVarchar('name', value, VARCHAR_LIMITS.conversation_sessions.session_name));
      const summary = optionalOrNull(input.contextSummary, (value) => requireText('contextSummary', value, ctx.options.maxContentBytes));
      const metadata = input.metadata === undefined ? null : jsonObjectText('metadata', input.metadata, ctx.options.maxContentBytes);
      return instrument(ctx, 'update_session', { userId, sessionId }, () =>
        ctx.transaction(async (tx) => {
          await requireOwnedSession(tx, ctx, userId, sessionId, true);
          const { rows } = await tx.query<SessionRow>(
            `UPDATE ${table} SET
               session_name = CASE WHEN $3 THEN $4 ELSE session_name END,
               session_type = coalesce($5, session_type),
               status = coalesce($6, status),
               context_summary = CASE WHEN $7 THEN $8 ELSE context_summary END,
               metadata = coalesce($9::jsonb, metadata)
             WHERE session_id = $1 AND user_id = $2 RETURNING *`,
            [sessionId, userId, name !== undefined, name ?? null, type, status, summary !== undefined, summary ?? null, metadata],
          );
          return toSession(rows[0]);
        }),
      );
    },
  };
}
