import type { Queryable } from '../db/database';
import { sha256, type MemoryContext } from '../memory/context';

/**
 * memory_retrieval_cache keyed by sha256(request key : user's memory generation). A write that
 * changes the user's memory gives them a new generation from one sequence (migrations 0003, 0005),
 * so older entries are simply never asked for again, even after the user is deleted and returns;
 * cleanExpired removes them at their TTL.
 */

/**
 * The cached bundle of the request for the user's current generation, its hit counted; undefined on
 * a miss. One statement: the generation is read in it.
 */
export async function lookUp(db: Queryable, ctx: MemoryContext, requestKey: string, userId: string, now: Date): Promise<unknown> {
  const { rows } = await db.query<{ retrieved_context: unknown }>(
    `UPDATE ${ctx.schema}.memory_retrieval_cache SET cache_hit_count = cache_hit_count + 1, last_accessed = $3::timestamptz
      WHERE user_id = $2 AND expires_at > $3::timestamptz
        AND cache_key = encode(sha256(convert_to($1 || ':' || coalesce((SELECT generation FROM ${ctx.schema}.ltst_user_state WHERE user_id = $2), 0)::text, 'UTF8')), 'hex')
     RETURNING retrieved_context`,
    [requestKey, userId, now],
  );
  return rows[0]?.retrieved_context ?? undefined;
}

export interface CacheEntry {
  requestKey: string;
  /** The user's generation when the search began: the bundle is cached only if it is still the current one. */
  generation: number;
  userId: string;
  sessionId: string | null;
  query: string;
  bundle: unknown;
  scores: Record<string, number>;
  retrievalTimeMs: number;
  now: Date;
  /** The earliest expiry among the entries in the bundle: the cached bundle expires no later. */
  expiresBy: Date | null;
}

/**
 * Stores the bundle for `cache_ttl_hours` (the system preference, default 1), or until its first
 * context entry expires if that is sooner. Written only while the user's generation row still
 * holds the generation the retrieval read (checked and locked in this statement): a write since,
 * or a deletion of the user, leaves nothing cached. A user without a generation row (no memory
 * yet) is never cached.
 */
export async function storeBundle(db: Queryable, ctx: MemoryContext, entry: CacheEntry): Promise<void> {
  await db.query(
    `INSERT INTO ${ctx.schema}.memory_retrieval_cache
       (cache_key, user_id, session_id, query_hash, retrieved_context, relevance_scores, retrieval_time_ms, last_accessed, created_at, expires_at)
     SELECT $1::text, $2::text, $3::text, $4::text, $5::jsonb, $6::jsonb, $7::int, $8::timestamptz, $8::timestamptz,
            least($10::timestamptz,
                  $8::timestamptz + coalesce((SELECT CASE WHEN preference_value ~ '^[0-9]+(\\.[0-9]+)?$' THEN preference_value::float8 END
                                                FROM ${ctx.schema}.user_preferences WHERE user_id = 'system' AND preference_key = 'cache_ttl_hours'), 1) * interval '1 hour')
      WHERE EXISTS (SELECT 1 FROM ${ctx.schema}.ltst_user_state WHERE user_id = $2::text AND generation = $9::bigint FOR KEY SHARE)
     ON CONFLICT (cache_key) DO UPDATE SET retrieved_context = EXCLUDED.retrieved_context, relevance_scores = EXCLUDED.relevance_scores,
       retrieval_time_ms = EXCLUDED.retrieval_time_ms, expires_at = EXCLUDED.expires_at`,
    [
      sha256(`${entry.requestKey}:${entry.generation}`),
      entry.userId,
      entry.sessionId,
      sha256(entry.query),
      JSON.stringify(entry.bundle),
      JSON.stringify(entry.scores),
      Math.round(entry.retrievalTimeMs),
      entry.now,
      entry.generation,
      entry.expiresBy,
    ],
  );
}
