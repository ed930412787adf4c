import type { Queryable } from '../db/database';

/**
 * How long an erasure is remembered (by the SHA-256 of the user id, never the id): far longer than
 * any buffered write can wait (buffers are written within seconds or dropped), so a metric another
 * process measured before the erasure and writes after it is refused.
 */
export const ERASURE_MEMORY_HOURS = 24;

/** SQL: the hex SHA-256 of a user id expression, as ltst_erased_users keys it. */
export const userHash = (userId: string) => `encode(sha256(convert_to(${userId}, 'UTF8')), 'hex')`;

/** SQL condition: a row of `userId` made at `madeAt` belongs to a user erased at or after it. */
export const erasedSince = (schema: string, userId: string, madeAt: string) =>
  `EXISTS (SELECT 1 FROM ${schema}.ltst_erased_users e WHERE e.user_hash = ${userHash(userId)} AND e.erased_at >= ${madeAt})`;

/** Remembers that `userId` was erased at `at` (the later time if erased before). */
export async function recordErasure(tx: Queryable, schema: string, userId: string, at: Date): Promise<void> {
  await tx.query(
    `INSERT INTO ${schema}.ltst_erased_users (user_hash, erased_at) VALUES (${userHash('$1')}, $2::timestamptz)
     ON CONFLICT (user_hash) DO UPDATE SET erased_at = greatest(${schema}.ltst_erased_users.erased_at, EXCLUDED.erased_at)`,
    [userId, at],
  );
}
