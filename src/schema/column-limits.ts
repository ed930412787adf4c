/**
 * The width of every varchar column the migrations create (src/schema/migrations/*.sql), in
 * characters: the one place input validation reads them from. test/integration/column-limits.test.ts
 * compares this table with the installed catalog, so a migration that changes a width fails the
 * tests until it is changed here too.
 */
export const VARCHAR_LIMITS = {
  conversation_sessions: { session_id: 255, user_id: 255, session_name: 500, session_type: 100, status: 50 },
  conversation_messages: { session_id: 255, user_id: 255, message_type: 50, role: 50, content_hash: 64, context_hash: 64, idempotency_key: 255 },
  conversation_context: { session_id: 255, user_id: 255, context_type: 100, context_key: 255, context_hash: 64 },
  user_preferences: { user_id: 255, preference_key: 255, preference_type: 100, source: 100 },
  memory_retrieval_cache: { cache_key: 255, user_id: 255, session_id: 255, query_hash: 64 },
  session_relationships: { user_id: 255, source_session_id: 255, target_session_id: 255, relationship_type: 100 },
  memory_performance_metrics: { operation_type: 100, user_id: 255, session_id: 255, operation_hash: 64 },
  event_ledger: { event_type: 255, status: 20, user_id: 255 },
  ltst_user_state: { user_id: 255 },
  ltst_erased_users: { user_hash: 64 },
  ltst_message_terms: { user_id: 255 },
} as const satisfies Record<string, Record<string, number>>;

/** Ids of users and sessions: every table stores them in varchar(255). */
export const ID_LENGTH = VARCHAR_LIMITS.conversation_sessions.session_id;

/** PostgreSQL integer (int4) and bigint ranges. */
export const INT4_MIN = -2_147_483_648;
export const INT4_MAX = 2_147_483_647;
export const BIGINT_MAX = 9_223_372_036_854_775_807n;

/**
 * Timestamps accepted: years 100 to 9999 (UTC), inside PostgreSQL's own range of 4713 BC to
 * 294276 AD. Not earlier: the embedded database (PGlite) reads years 0-99 back as 1950-2049.
 */
export const EARLIEST_TIMESTAMP = new Date('0100-01-01T00:00:00.000Z');
export const LATEST_TIMESTAMP = new Date('9999-12-31T23:59:59.999Z');

/** JSON metadata: deepest nesting accepted (objects and arrays), checked without recursion. */
export const MAX_JSON_DEPTH = 64;
