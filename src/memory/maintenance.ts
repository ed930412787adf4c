import { invalidInput, LtstError } from '../errors';
import { EXPECTED_TABLES, EXPECTED_TRIGGERS } from '../schema/expected-objects';
import { instrument, type MemoryContext } from './context';
import { optionalDate } from './validation';

/** Used when the 'system' user has no valid memory_retention_days preference. */
export const DEFAULT_RETENTION_DAYS = 30;
const MAX_INACTIVE_DAYS = 36_500;

/** The store's "now" (options.clock): every expiry and retention decision uses it, never the server's now(). */
export function clockNow(ctx: MemoryContext): Date {
  const now = ctx.options.clock();
  if (!(now instanceof Date) || Number.isNaN(now.getTime())) {
    throw new LtstError('INVALID_CONFIG', `memory.clock returned ${String(now)}, not a valid Date`, { hint: 'Pass a clock that returns a Date, or leave it out to use the real time.' });
  }
  return now;
}

export interface CleanExpiredResult {
  /** memory_retrieval_cache rows removed (expires_at <= now). */
  cache: number;
  /** conversation_context rows removed (expires_at set and <= now). */
  context: number;
}

export interface ArchiveSessionsOptions {
  /** Sessions without activity for this many days are archived (whole number >= 1). Default: the 'system' preference memory_retention_days, else 30. */
  inactiveDays?: number;
}

export interface ArchiveSessionsResult {
  archived: number;
  inactiveDays: number;
  /** Sessions whose last_activity is before this instant were archived. */
  cutoff: Date;
}

export interface TableUsage {
  table: string;
  /** pg_total_relation_size: heap, indexes and TOAST. */
  totalBytes: number;
  /** pg_class.reltuples; before the first ANALYZE the statistics collector's live rows (0 when it has none). */
  rowEstimate: number;
}

export interface IndexUsage {
  table: string;
  index: string;
  bytes: number;
  /** pg_stat_user_indexes.idx_scan; 0 where the statistics are empty (as on PGlite). */
  scans: number;
}

export interface TriggerState {
  name: string;
  present: boolean;
  /** Present and not disabled (pg_trigger.tgenabled <> 'D'). */
  enabled: boolean;
}

export interface CacheHitRate {
  /**
   * Metric rows that could have been served from the retrieval cache: every 'retrieve_context'
   * operation, plus any other row flagged cache_hit (a hit proves it was a lookup).
   */
  lookups: number;
  /** Of those, the rows with cache_hit = true. */
  hits: number;
  /** hits / lookups; null when there were no lookups. */
  hitRate: number | null;
}

export interface UsageReport {
  generatedAt: Date;
  /** Every LTST table of the schema, with its size. */
  tables: TableUsage[];
  totalBytes: number;
  /** Every index on the LTST tables, with its scan count. */
  indexes: IndexUsage[];
  triggers: TriggerState[];
  /** True when update_session_length_trigger exists and is enabled. */
  sessionLengthTriggerEnabled: boolean;
  cache: CacheHitRate;
}

export interface UsageReportOptions {
  /** Count only metrics recorded at or after this instant (default: all of them). */
  since?: Date | string;
}

const CACHE_LOOKUP_OPERATION = 'retrieve_context';

function inactiveDaysOf(value: unknown): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > MAX_INACTIVE_DAYS) {
    throw invalidInput('inactiveDays', `is ${String(value)}`, `Use a whole number of days from 1 to ${MAX_INACTIVE_DAYS}.`);
  }
  return value;
}

function optionsObject<T>(value: unknown): Partial<T> {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw invalidInput('options', 'is not an object', 'Pass an object such as { inactiveDays: 30 }, or nothing.');
  return value as Partial<T>;
}

export function maintenanceOperations(ctx: MemoryContext) {
  const t = (table: string) => `${ctx.schema}.${table}`;

  /** The 'system' retention default; an absent or unusable value falls back to 30 (and warns when unusable). */
  async function retentionDays(): Promise<number> {
    const { rows } = await ctx.run((db) =>
      db.query<{ value: string }>(`SELECT preference_value AS value FROM ${t('user_preferences')} WHERE user_id = $1 AND preference_key = $2`, ['system', 'memory_retention_days']),
    );
    if (rows.length === 0) return DEFAULT_RETENTION_DAYS;
    const days = Number(rows[0].value.trim());
    if (!Number.isInteger(days) || days < 1 || days > MAX_INACTIVE_DAYS) {
      ctx.options.onWarning(`The 'system' preference memory_retention_days is ${JSON.stringify(rows[0].value)}, not a whole number of days from 1 to ${MAX_INACTIVE_DAYS}: using ${DEFAULT_RETENTION_DAYS}.`);
      return DEFAULT_RETENTION_DAYS;
    }
    return days;
  }

  return {
    /** Removes expired retrieval-cache and context rows (expires_at <= the store's clock) and says how many. */
    async cleanExpired(): Promise<CleanExpiredResult> {
      const now = clockNow(ctx);
      return instrument(
        ctx,
        'clean_expired',
        { parameters: { asOf: now.toISOString() } },
        async () => {
          const { rows } = await ctx.run((db) =>
            db.query<{ cache: number; context: number }>(`SELECT ${t('clean_expired_cache')}($1::timestamptz) AS cache, ${t('clean_expired_context')}($1::timestamptz) AS context`, [now]),
          );
          return { cache: Number(rows[0].cache), context: Number(rows[0].context) };
        },
        (result) => result.cache + result.context,
      );
    },

    /** Archives active and paused sessions whose last_activity is older than (clock - inactiveDays). Archived sessions keep all their rows. */
    async archiveSessions(options?: ArchiveSessionsOptions): Promise<ArchiveSessionsResult> {
      const explicit = inactiveDaysOf(optionsObject<ArchiveSessionsOptions>(options).inactiveDays);
      const now = clockNow(ctx);
      return instrument(
        ctx,
        'archive_sessions',
        { parameters: { inactiveDays: explicit ?? null } },
        async () => {
          const inactiveDays = explicit ?? (await retentionDays());
          const cutoff = new Date(now.getTime() - inactiveDays * 86_400_000);
          const { rowCount } = await ctx.run((db) =>
            db.query(
              `UPDATE ${t('conversation_sessions')} SET status = 'archived'
                WHERE status IN ('active', 'paused') AND last_activity < $1::timestamptz`,
              [cutoff],
            ),
          );
          return { archived: rowCount, inactiveDays, cutoff };
        },
        (result) => result.archived,
      );
    },

    /** Sizes, index use, trigger state and the retrieval-cache hit rate: read-only, works on PGlite (empty statistics read as 0). */
    async usageReport(options?: UsageReportOptions): Promise<UsageReport> {
      const since = optionalDate('since', optionsObject<UsageReportOptions>(options).since);
      const generatedAt = clockNow(ctx);
      return instrument(
        ctx,
        'usage_report',
        { parameters: { since: since?.toISOString() ?? null } },
        async () => {
          // The metrics of operations just run are still buffered: write them so they count.
          await ctx.metrics.flush();
          return ctx.run(async (db) => {
            const { rows: tables } = await db.query<{ table: string; total_bytes: number; row_estimate: number }>(
              `SELECT c.relname AS "table", pg_total_relation_size(c.oid)::float8 AS total_bytes,
                      CASE WHEN c.reltuples >= 0 THEN c.reltuples::float8 ELSE coalesce(st.n_live_tup, 0)::float8 END AS row_estimate
                 FROM pg_class c
                 LEFT JOIN pg_stat_user_tables st ON st.relid = c.oid
                WHERE c.relnamespace = to_regnamespace($1) AND c.relkind IN ('r', 'p') AND c.relname = ANY ($2::text[])
                ORDER BY c.relname`,
              [ctx.schema, EXPECTED_TABLES],
            );
            const { rows: indexes } = await db.query<{ table: string; index: string; bytes: number; scans: number }>(
              `SELECT t.relname AS "table", i.relname AS "index", pg_relation_size(i.oid)::float8 AS bytes, coalesce(s.idx_scan, 0)::float8 AS scans
                 FROM pg_index x
                 JOIN pg_class i ON i.oid = x.indexrelid
                 JOIN pg_class t ON t.oid = x.indrelid
                 LEFT JOIN pg_stat_user_indexes s ON s.indexrelid = x.indexrelid
                WHERE t.relnamespace = to_regnamespace($1) AND t.relname = ANY ($2::text[])
                ORDER BY t.relname, i.relname`,
              [ctx.schema, EXPECTED_TABLES],
            );
            const { rows: triggers } = await db.query<{ name: string; enabled: boolean }>(
              `SELECT tg.tgname AS name, tg.tgenabled <> 'D' AS enabled
                 FROM pg_trigger tg JOIN pg_class c ON c.oid = tg.tgrelid
                WHERE c.relnamespace = to_regnamespace($1) AND NOT tg.tgisinternal AND tg.tgname = ANY ($2::text[])`,
              [ctx.schema, EXPECTED_TRIGGERS],
            );
            const { rows: cache } = await db.query<{ lookups: number; hits: number }>(
              `SELECT count(*)::integer AS lookups, count(*) FILTER (WHERE cache_hit)::integer AS hits
                 FROM ${t('memory_performance_metrics')}
                WHERE (operation_type = $1 OR cache_hit) AND ($2::timestamptz IS NULL OR created_at >= $2::timestamptz)`,
              [CACHE_LOOKUP_OPERATION, since ?? null],
            );
            const found = new Map(triggers.map((row) => [row.name, row.enabled]));
            const triggerStates = EXPECTED_TRIGGERS.map((name) => ({ name, present: found.has(name), enabled: found.get(name) === true }));
            const tableUsage = tables.map((row) => ({ table: row.table, totalBytes: Number(row.total_bytes), rowEstimate: Number(row.row_estimate) }));
            const lookups = Number(cache[0].lookups);
            const hits = Number(cache[0].hits);
            return {
              generatedAt,
              tables: tableUsage,
              totalBytes: tableUsage.reduce((sum, row) => sum + row.totalBytes, 0),
              indexes: indexes.map((row) => ({ table: row.table, index: row.index, bytes: Number(row.bytes), scans: Number(row.scans) })),
              triggers: triggerStates,
              sessionLengthTriggerEnabled: found.get('update_session_length_trigger') === true,
              cache: { lookups, hits, hitRate: lookups === 0 ? null : hits / lookups },
            };
          });
        },
        (report) => report.tables.length,
      );
    },
  };
}
