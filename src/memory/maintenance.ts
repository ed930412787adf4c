import { invalidInput, LtstError } from '../errors';
import { instrument, type MemoryContext } from './context';
import { ERASURE_MEMORY_HOURS } from './erasure';
import { readUsage, type UsageReport, type UsageReportOptions } from './usage';
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
  /** Erasure records (ltst_erased_users) older than ERASURE_MEMORY_HOURS removed. */
  erasures: number;
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
            db.query<{ cache: number; context: number; erasures: string }>(
              `WITH erasures AS (DELETE FROM ${t('ltst_erased_users')} WHERE erased_at <= $1::timestamptz - $2::int * interval '1 hour' RETURNING 1)
               SELECT ${t('clean_expired_cache')}($1::timestamptz) AS cache, ${t('clean_expired_context')}($1::timestamptz) AS context, (SELECT count(*) FROM erasures) AS erasures`,
              [now, ERASURE_MEMORY_HOURS],
            ),
          );
          return { cache: Number(rows[0].cache), context: Number(rows[0].context), erasures: Number(rows[0].erasures) };
        },
        (result) => result.cache + result.context + result.erasures,
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
          return ctx.run((db) => readUsage(db, ctx, since, generatedAt));
        },
        (report) => report.tables.length,
      );
    },
  };
}
