import type { Queryable } from '../db/database';
import { EXPECTED_TABLES, EXPECTED_TRIGGERS } from '../schema/expected-objects';
import type { MemoryContext } from './context';

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

/** Sizes, index use, trigger state and the retrieval-cache hit rate, read from the catalog: writes nothing. */
export async function readUsage(db: Queryable, ctx: MemoryContext, since: Date | undefined, generatedAt: Date): Promise<UsageReport> {
  const t = (table: string) => `${ctx.schema}.${table}`;
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
}
