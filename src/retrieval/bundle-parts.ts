import { binder, type Queryable } from '../db/database';
import type { MemoryContext } from '../memory/context';
import { liveContextSql, toEntry, type ContextEntry, type ContextRow } from '../memory/context-entries';
import { MESSAGE_COLUMNS, toMessage, type MessageRow, type StoredMessage } from '../memory/messages';
import { forbiddenSession, sessionExists } from '../memory/ownership';
import { preferencesSql, toPreference, type Preference, type PreferenceRow } from '../memory/preferences';
import { relatedSessionsSql, toRelatedSession, type RelatedSession, type RelationshipRow } from '../memory/relationships';
import { toSession, type Session, type SessionRow } from '../memory/sessions';
import type { NormalizedRequest } from './request';
import { takesWholeUserStatistics, wholeUserStatistics, wholeUserStatisticsColumns, type QueryStatistics, type WholeUserStatisticsRow } from './search';

/**
 * What a bundle holds besides recall (the session, its recent window, preferences, live context and
 * related sessions), and the user's memory generation, message count and vector-graph membership as the search begins.
 */
export interface BundleParts {
  generation: number;
  messageCount: number;
  /** Whether the user's messages are in the HNSW graph (src/memory/vector-graph.ts). */
  inVectorGraph: boolean;
  session: Session | null;
  recent: StoredMessage[];
  preferences: Preference[];
  context: ContextEntry[];
  relatedSessions: RelatedSession[];
  /** For a search of the whole user, the query's statistics over the user's messages (see takesWholeUserStatistics). */
  queryStatistics?: QueryStatistics;
}

type PartsRow = Partial<WholeUserStatisticsRow> & {
  generation: string | null;
  message_count: string | null;
  in_vector_graph: boolean | null;
  session: SessionRow | null;
  recent: MessageRow[];
  preferences: PreferenceRow[];
  context: ContextRow[];
  related: RelationshipRow[];
};

const NONE = `'[]'::jsonb`;
/** The rows of `sql` as one JSON array, in its order. */
const rowsOf = (sql: string) => `(SELECT coalesce(jsonb_agg(to_jsonb(q)), '[]') FROM (${sql}) q)`;

/**
 * Every part in one statement (each is a small indexed read; one round trip instead of six), with
 * the statistics of `query` when they are the whole user's. FORBIDDEN when the session is another user's.
 */
export async function readBundleParts(tx: Queryable, ctx: MemoryContext, request: NormalizedRequest, now: Date, query: string | null): Promise<BundleParts> {
  const values: unknown[] = [];
  const bind = binder(values);
  const { userId, sessionId } = request;
  const user = bind(userId);
  const session = sessionId === null ? null : bind(sessionId);
  const inSession = (wanted: boolean, sql: () => string) => (wanted && sessionId !== null ? rowsOf(sql()) : NONE);
  const statistics = query !== null && takesWholeUserStatistics(request, query);
  const { rows } = await tx.query<PartsRow>(
    `SELECT u.generation, u.message_count, u.in_vector_graph,${statistics ? ` ${wholeUserStatisticsColumns(ctx, bind, user, query)},` : ''}
            ${session === null ? 'NULL::jsonb' : `(SELECT to_jsonb(s) FROM ${ctx.schema}.conversation_sessions s WHERE s.session_id = ${session})`} AS session,
            ${inSession(request.recentLimit > 0, () => `SELECT * FROM (SELECT ${MESSAGE_COLUMNS} FROM ${ctx.schema}.conversation_messages WHERE session_id = ${session} ORDER BY message_index DESC LIMIT ${bind(request.recentLimit)}) newest ORDER BY message_index`)} AS recent,
            ${request.includePreferences ? rowsOf(preferencesSql(ctx, bind, userId, request.minPreferenceConfidence)) : NONE} AS preferences,
            ${inSession(request.includeContext, () => liveContextSql(ctx, bind, userId, sessionId as string, null, now))} AS context,
            ${inSession(request.includeRelatedSessions, () => relatedSessionsSql(ctx, bind, userId, sessionId as string))} AS related
       FROM (SELECT 1) one LEFT JOIN ${ctx.schema}.ltst_user_state u ON u.user_id = ${user}`,
    values,
    { prepare: true },
  );
  const [row] = rows;
  // Another user's session is invisible under row-level security: whether it exists decides.
  if (sessionId !== null && (row.session ? row.session.user_id !== userId : await sessionExists(tx, ctx, sessionId))) throw forbiddenSession(sessionId);
  const state = {
    generation: Number(row.generation ?? 0),
    messageCount: Number(row.message_count ?? 0),
    inVectorGraph: row.in_vector_graph === true,
    ...(statistics ? { queryStatistics: wholeUserStatistics(row as WholeUserStatisticsRow) } : {}),
  };
  if (!row.session) return { ...state, session: null, recent: [], preferences: row.preferences.map(toPreference), context: [], relatedSessions: [] };
  return {
    ...state,
    session: toSession(row.session),
    recent: row.recent.map((message) => toMessage(message)),
    preferences: row.preferences.map(toPreference),
    context: row.context.map(toEntry),
    relatedSessions: row.related.map((link) => toRelatedSession(link, sessionId as string)),
  };
}
