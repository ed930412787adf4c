import type { Queryable } from '../db/database';
import { invalidInput } from '../errors';
import { instrument, type MemoryContext } from './context';
import { flushAllBuffers } from './buffered-writer';
import { recordErasure } from './erasure';
import { clockNow } from './maintenance';
import { requireId } from './validation';

/** The user whose preferences are everyone's defaults: never deleted by deleteUserData. */
export const SYSTEM_USER = 'system';

/** Rows removed per table by deleteUserData. */
export interface DeletedUserData {
  userId: string;
  sessions: number;
  messages: number;
  context: number;
  relationships: number;
  cache: number;
  preferences: number;
  events: number;
  metrics: number;
}

/** A row as JSON: the table's columns with camelCase names; timestamps are ISO 8601 strings, ids numbers. */
export type ExportedRow = Record<string, unknown>;

export interface ExportedSession extends ExportedRow {
  /** In message_index order. `embedding` is a number[] (or null) when the schema has the column, absent when it has not. */
  messages: ExportedRow[];
  context: ExportedRow[];
  /** Relationships whose source is this session (each relationship appears once, under its source). */
  relationships: ExportedRow[];
}

export interface UserDataExport {
  userId: string;
  /** The store's clock at export, ISO 8601. */
  exportedAt: string;
  sessions: ExportedSession[];
  preferences: ExportedRow[];
  cache: ExportedRow[];
  /** event_ledger rows logged with this user's id. */
  events: ExportedRow[];
  metrics: ExportedRow[];
}

const camel = (name: string) => name.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());

/** Renames the top-level keys only: metadata objects inside stay as the user stored them. */
function camelKeys(row: Record<string, unknown>): ExportedRow {
  return Object.fromEntries(Object.entries(row).map(([key, value]) => [camel(key), value]));
}

/** pgvector's text form ('[1,2.5,-3]') is JSON. */
function embeddingOf(value: unknown): number[] | null {
  if (value === null || value === undefined) return null;
  return typeof value === 'string' ? (JSON.parse(value) as number[]) : (value as number[]);
}

function validUserId(value: unknown): string {
  return requireId('userId', value);
}

export function userDataOperations(ctx: MemoryContext) {
  const t = (table: string) => `${ctx.schema}.${table}`;

  /** Every row of `table` for the user, as JSON built by the server (the same types on every driver). */
  async function rowsOf(db: Queryable, sql: string, userId: string): Promise<Record<string, unknown>[]> {
    const { rows } = await db.query<{ row: Record<string, unknown> | string }>(sql, [userId]);
    return rows.map(({ row }) => (typeof row === 'string' ? (JSON.parse(row) as Record<string, unknown>) : row));
  }

  return {
    /**
     * Removes everything stored for one user in one transaction: their sessions with all messages,
     * context, relationships and cache rows, their preferences, their session-less cache rows,
     * their events and their performance metrics. Other users' rows are never touched; 'system'
     * is refused. Once it returns, no row of the user is left and none comes back: every buffer of
     * this process is written first, a retrieval in flight cannot cache after it (its cache write
     * needs the generation row locked here), and a metric another process measured before it is
     * refused on insert (ltst_erased_users remembers the erasure for a day, by the id's hash).
     */
    async deleteUserData(userId: string): Promise<DeletedUserData> {
      const user = validUserId(userId);
      if (user === SYSTEM_USER) {
        throw invalidInput('userId', `is "${SYSTEM_USER}", the user holding everyone's default preferences`, 'Delete the data of a real user id; change system defaults with the preference operations instead.');
      }
      // Metrics of this user's earlier operations, from every store of this process, are in the tables before they are emptied.
      await flushAllBuffers();
      // No userId or parameters in this operation's own metric: it would write the user back.
      return instrument(
        ctx,
        'delete_user_data',
        {},
        () =>
          ctx.transaction(async (tx) => {
            const remove = async (table: string, where = 'user_id = $1') => (await tx.query(`DELETE FROM ${t(table)} WHERE ${where}`, [user])).rowCount;
            // The generation row first: a retrieval's cache write locks it too, so it either commits
            // before this (its row is deleted below) or waits and then finds the row gone.
            await tx.query(`SELECT 1 FROM ${t('ltst_user_state')} WHERE user_id = $1 FOR UPDATE`, [user]);
            // Then the sessions, so a concurrent write into one of them waits for this transaction.
            await tx.query(`SELECT 1 FROM ${t('conversation_sessions')} WHERE user_id = $1 FOR UPDATE`, [user]);
            // Taken after the locks: whatever finished before them is older than the erasure.
            await recordErasure(tx, ctx.schema, user, clockNow(ctx));
            // Children first (they would cascade anyway) so each table's count is exact.
            const relationships = await remove('session_relationships');
            const cache = await remove('memory_retrieval_cache');
            const context = await remove('conversation_context');
            const messages = await remove('conversation_messages');
            const sessions = await remove('conversation_sessions');
            const preferences = await remove('user_preferences');
            const events = await remove('event_ledger');
            const metrics = await remove('memory_performance_metrics');
            // Last: the deletes above touched the user's generation row.
            await remove('ltst_user_state');
            return { userId: user, sessions, messages, context, relationships, cache, preferences, events, metrics };
          }),
        (result) => result.sessions + result.messages + result.context + result.relationships + result.cache + result.preferences + result.events + result.metrics,
      );
    },

    /**
     * All rows stored for one user as one JSON-ready object (a consistent snapshot): sessions with
     * their messages, context and outgoing relationships, preferences, cache rows and metrics.
     * A user without data gets empty lists.
     */
    async exportUserData(userId: string): Promise<UserDataExport> {
      const user = validUserId(userId);
      const exportedAt = clockNow(ctx).toISOString();
      await flushAllBuffers();
      return instrument(
        ctx,
        'export_user_data',
        { userId: user, parameters: { userId: user } },
        () =>
          ctx.transaction(async (tx) => {
            // One snapshot for every statement below: the parts of the export agree with each other.
            await tx.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY');
            const sessions = await rowsOf(tx, `SELECT to_jsonb(s) AS row FROM ${t('conversation_sessions')} s WHERE s.user_id = $1 ORDER BY s.created_at, s.session_id`, user);
            // to_jsonb keeps whatever columns exist: embedding only when pgvector's migration ran.
            const messages = await rowsOf(tx, `SELECT to_jsonb(m) - 'content_tsv' - 'in_vector_graph' AS row FROM ${t('conversation_messages')} m WHERE m.user_id = $1 ORDER BY m.session_id, m.message_index`, user);
            const context = await rowsOf(tx, `SELECT to_jsonb(c) AS row FROM ${t('conversation_context')} c WHERE c.user_id = $1 ORDER BY c.session_id, c.context_type, c.context_key`, user);
            const relationships = await rowsOf(tx, `SELECT to_jsonb(r) AS row FROM ${t('session_relationships')} r WHERE r.user_id = $1 ORDER BY r.relationship_id`, user);
            const preferences = await rowsOf(tx, `SELECT to_jsonb(p) AS row FROM ${t('user_preferences')} p WHERE p.user_id = $1 ORDER BY p.preference_key`, user);
            const cache = await rowsOf(tx, `SELECT to_jsonb(c) AS row FROM ${t('memory_retrieval_cache')} c WHERE c.user_id = $1 ORDER BY c.cache_id`, user);
            const events = await rowsOf(tx, `SELECT to_jsonb(e) AS row FROM ${t('event_ledger')} e WHERE e.user_id = $1 ORDER BY e.event_id`, user);
            const metrics = await rowsOf(tx, `SELECT to_jsonb(x) AS row FROM ${t('memory_performance_metrics')} x WHERE x.user_id = $1 ORDER BY x.metric_id`, user);

            const bySession = <R extends Record<string, unknown>>(rows: R[], key: string) => {
              const grouped = new Map<unknown, ExportedRow[]>();
              for (const row of rows) {
                const list = grouped.get(row[key]) ?? [];
                list.push(camelKeys(row));
                grouped.set(row[key], list);
              }
              return grouped;
            };
            const messagesOf = bySession(
              messages.map((row) => ('embedding' in row ? { ...row, embedding: embeddingOf(row.embedding) } : row)),
              'session_id',
            );
            const contextOf = bySession(context, 'session_id');
            const relationshipsOf = bySession(relationships, 'source_session_id');
            return {
              userId: user,
              exportedAt,
              sessions: sessions.map((row) => ({
                ...camelKeys(row),
                messages: messagesOf.get(row.session_id) ?? [],
                context: contextOf.get(row.session_id) ?? [],
                relationships: relationshipsOf.get(row.session_id) ?? [],
              })),
              preferences: preferences.map(camelKeys),
              cache: cache.map(camelKeys),
              events: events.map(camelKeys),
              metrics: metrics.map(camelKeys),
            };
          }),
        (result) => result.sessions.reduce((sum, s) => sum + 1 + s.messages.length + s.context.length + s.relationships.length, 0) + result.preferences.length + result.cache.length + result.events.length + result.metrics.length,
      );
    },
  };
}
