import { binder, type Bind, type Queryable } from '../db/database';
import { invalidInput } from '../errors';
import { instrument, type MemoryContext } from './context';
import { VARCHAR_LIMITS } from '../schema/column-limits';
import { optionalId, requireId, requireOneOf, requireScore, requireText } from './validation';
import { toDate } from './rows';

export const PREFERENCE_SOURCES = ['explicit', 'learned', 'inferred'] as const;
export type PreferenceSource = (typeof PREFERENCE_SOURCES)[number];

/** Confidence of one observation when the caller gives none. */
export const DEFAULT_CONFIDENCE: Record<PreferenceSource, number> = { explicit: 0.9, learned: 0.5, inferred: 0.3 };
/** Stronger evidence wins: explicit > learned > inferred. */
const SOURCE_RANK: Record<PreferenceSource, number> = { explicit: 3, learned: 2, inferred: 1 };

/** The user whose preferences are the system defaults; the public operations do not change them. */
export const SYSTEM_USER = 'system';

export interface Preference {
  preferenceId: number;
  userId: string;
  key: string;
  value: string;
  type: string;
  confidence: number;
  source: PreferenceSource;
  usageCount: number;
  /** NULL until first used (markPreferencesUsed). */
  lastUsed: Date | null;
  metadata: Record<string, unknown>;
  createdAt: Date;
  updatedAt: Date;
}

export interface UpsertPreferenceInput {
  userId: string;
  key: string;
  value: string;
  /** Default 'general' for a new preference; an existing one keeps its type unless given. */
  type?: string;
  source: PreferenceSource;
  /** Confidence of this observation, 0..1; default by source (explicit 0.9, learned 0.5, inferred 0.3). */
  confidence?: number;
}

export type PreferenceOutcome = 'created' | 'reinforced' | 'replaced' | 'weakened';

export interface Observation {
  value: string;
  source: PreferenceSource;
  confidence: number;
}

/**
 * What one observation does to the stored preference:
 * - same value: reinforced, c' = 1 - (1 - c)(1 - w), source becomes the stronger of the two;
 * - different value with winning evidence (higher source rank, or equal rank and w > c): replaced, c' = w;
 * - otherwise the old value stays, weakened: c' = c * (1 - w).
 */
export function learn(stored: Observation, seen: Observation): Observation & { outcome: Exclude<PreferenceOutcome, 'created'> } {
  const c = stored.confidence;
  const w = seen.confidence;
  if (stored.value === seen.value) {
    const source = SOURCE_RANK[seen.source] > SOURCE_RANK[stored.source] ? seen.source : stored.source;
    return { value: stored.value, source, confidence: 1 - (1 - c) * (1 - w), outcome: 'reinforced' };
  }
  const rankDiff = SOURCE_RANK[seen.source] - SOURCE_RANK[stored.source];
  if (rankDiff > 0 || (rankDiff === 0 && w > c)) return { ...seen, outcome: 'replaced' };
  return { ...stored, confidence: c * (1 - w), outcome: 'weakened' };
}

export interface PreferenceRow {
  preference_id: string | number;
  user_id: string;
  preference_key: string;
  preference_value: string;
  preference_type: string;
  confidence_score: number;
  source: PreferenceSource;
  usage_count: number;
  last_used: Date | string | null;
  metadata: Record<string, unknown>;
  created_at: Date | string;
  updated_at: Date | string;
}

const COLUMNS = 'preference_id, user_id, preference_key, preference_value, preference_type, confidence_score, source, usage_count, last_used, metadata, created_at, updated_at';

export function toPreference(row: PreferenceRow): Preference {
  return {
    preferenceId: Number(row.preference_id),
    userId: row.user_id,
    key: row.preference_key,
    value: row.preference_value,
    type: row.preference_type,
    confidence: Number(row.confidence_score),
    source: row.source,
    usageCount: Number(row.usage_count),
    lastUsed: row.last_used === null ? null : toDate(row.last_used),
    metadata: row.metadata ?? {},
    createdAt: toDate(row.created_at),
    updatedAt: toDate(row.updated_at),
  };
}

/** A user id that may be written to: the system defaults are not learned from workflows. */
function requireWritableUser(value: unknown): string {
  const userId = requireId('userId', value);
  if (userId === SYSTEM_USER) throw invalidInput('userId', `is "${SYSTEM_USER}", the user that holds the system defaults`, 'Use the id of a real user; system defaults are changed by the DBA, not by workflows.');
  return userId;
}

const optionalType = (value: unknown) => optionalId('type', value, VARCHAR_LIMITS.user_preferences.preference_type);

/** The statement reading the user's preferences with at least `minConfidence`, most confident first. */
export function preferencesSql(ctx: MemoryContext, bind: Bind, userId: string, minConfidence: number, type: string | null = null): string {
  const typeValue = bind(type);
  return `SELECT ${COLUMNS} FROM ${ctx.schema}.user_preferences
      WHERE user_id = ${bind(userId)} AND confidence_score >= ${bind(minConfidence)} AND (${typeValue}::text IS NULL OR preference_type = ${typeValue}::text)
      ORDER BY confidence_score DESC, preference_key`;
}

/** The user's preferences with at least `minConfidence`, most confident first. */
export async function readPreferences(db: Queryable, ctx: MemoryContext, userId: string, minConfidence: number, type: string | null = null): Promise<Preference[]> {
  const values: unknown[] = [];
  const { rows } = await db.query<PreferenceRow>(preferencesSql(ctx, binder(values), userId, minConfidence, type), values);
  return rows.map(toPreference);
}

/** Records one use of each key (usage_count + 1, last_used = now); returns how many were found. */
export async function recordPreferenceUse(db: Queryable, ctx: MemoryContext, userId: string, keys: string[], now: Date): Promise<number> {
  if (keys.length === 0) return 0;
  const { rowCount } = await db.query(
    `UPDATE ${ctx.schema}.user_preferences SET usage_count = usage_count + 1, last_used = $3::timestamptz WHERE user_id = $1 AND preference_key = ANY($2::text[])`,
    [userId, keys, now],
  );
  return rowCount;
}

export function preferenceOperations(ctx: MemoryContext) {
  const table = `${ctx.schema}.user_preferences`;

  const lock = async (tx: Queryable, userId: string, key: string) =>
    (await tx.query<PreferenceRow>(`SELECT ${COLUMNS} FROM ${table} WHERE user_id = $1 AND preference_key = $2 FOR UPDATE`, [userId, key])).rows[0];

  return {
    /**
     * Learns one observation of a preference in one transaction with the row locked, so concurrent
     * observations of the same key are applied one after another. usage_count and last_used stay.
     */
    async upsertPreference(input: UpsertPreferenceInput): Promise<{ preference: Preference; outcome: PreferenceOutcome }> {
      const userId = requireWritableUser(input?.userId);
      const key = requireId('key', input.key, VARCHAR_LIMITS.user_preferences.preference_key);
      const value = requireText('value', input.value, ctx.options.maxContentBytes);
      const type = optionalType(input.type);
      const source = requireOneOf('source', input.source, PREFERENCE_SOURCES);
      const confidence = requireScore('confidence', input.confidence, DEFAULT_CONFIDENCE[source]);
      const seen: Observation = { value, source, confidence };
      return instrument(ctx, 'upsert_preference', { userId, parameters: { key, source } }, () =>
        ctx.transaction(async (tx) => {
          let stored = await lock(tx, userId, key);
          if (!stored) {
            const inserted = await tx.query<PreferenceRow>(
              `INSERT INTO ${table} (user_id, preference_key, preference_value, preference_type, confidence_score, source)
               VALUES ($1, $2, $3, $4, $5, $6)
               ON CONFLICT (user_id, preference_key) DO NOTHING
               RETURNING ${COLUMNS}`,
              [userId, key, value, type ?? 'general', confidence, source],
            );
            if (inserted.rows.length > 0) return { preference: toPreference(inserted.rows[0]), outcome: 'created' as const };
            // A concurrent insert of the same key won (and has committed): learn on top of it.
            stored = await lock(tx, userId, key);
            if (!stored) throw new Error(`Preference "${key}" of user "${userId}" vanished while being learned; try again`);
          }
          const next = learn({ value: stored.preference_value, source: stored.source, confidence: Number(stored.confidence_score) }, seen);
          const nextType = next.outcome === 'weakened' ? stored.preference_type : (type ?? stored.preference_type);
          const { rows } = await tx.query<PreferenceRow>(
            `UPDATE ${table} SET preference_value = $2, preference_type = $3, confidence_score = $4, source = $5
              WHERE preference_id = $1 RETURNING ${COLUMNS}`,
            [stored.preference_id, next.value, nextType, Math.min(1, Math.max(0, next.confidence)), next.source],
          );
          return { preference: toPreference(rows[0]), outcome: next.outcome };
        }),
      );
    },

    /** The user's preferences, most confident first. */
    async getPreferences(userId: string, options: { minConfidence?: number; type?: string } = {}): Promise<Preference[]> {
      const user = requireId('userId', userId);
      const minConfidence = requireScore('minConfidence', options?.minConfidence, 0);
      const type = optionalType(options?.type) ?? null;
      return instrument(
        ctx,
        'get_preferences',
        { userId: user, parameters: { minConfidence, type } },
        () =>
          ctx.run((db) => readPreferences(db, ctx, user, minConfidence, type)),
        (preferences) => preferences.length,
      );
    },

    /** Forgets one preference; true when there was one. */
    async deletePreference(userId: string, key: string): Promise<boolean> {
      const user = requireWritableUser(userId);
      const preferenceKey = requireId('key', key);
      return instrument(
        ctx,
        'delete_preference',
        { userId: user, parameters: { key: preferenceKey } },
        () => ctx.run(async (db) => (await db.query(`DELETE FROM ${table} WHERE user_id = $1 AND preference_key = $2`, [user, preferenceKey])).rowCount > 0),
        (removed) => (removed ? 1 : 0),
      );
    },

    /** Counts one use of each of `keys` (usage_count + 1, last_used = now); returns how many were found. */
    async markPreferencesUsed(userId: string, keys: string[]): Promise<number> {
      const user = requireWritableUser(userId);
      if (!Array.isArray(keys)) throw invalidInput('keys', 'is not a list', 'Pass an array of preference keys, such as ["language"].');
      const unique = [...new Set(keys.map((key, i) => requireId(`keys[${i}]`, key)))];
      const now = ctx.options.clock();
      return instrument(
        ctx,
        'mark_preferences_used',
        { userId: user, parameters: { keys: unique } },
        () => ctx.run((db) => recordPreferenceUse(db, ctx, user, unique, now)),
        (count) => count,
      );
    },
  };
}
