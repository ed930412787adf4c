import type { Database } from '../db/database';
import { errorCode, LtstError } from '../errors';
import { redactSecrets } from '../redact';
import { INT4_MAX, VARCHAR_LIMITS } from '../schema/column-limits';
import { BufferedWriter } from './buffered-writer';
import { erasedSince } from './erasure';
import { wellFormed } from './validation';

export interface MetricRow {
  operationType: string;
  userId?: string;
  sessionId?: string;
  operationHash?: string;
  executionTimeMs: number;
  resultCount?: number;
  cacheHit?: boolean;
  errorMessage?: string;
  metadata?: Record<string, unknown>;
  /** When the operation was measured (default: the store's clock when recorded). */
  createdAt?: Date;
}

/** A metric row as written: every value fits its column and is text PostgreSQL accepts. */
interface CleanMetric {
  operationType: string;
  userId: string | null;
  sessionId: string | null;
  operationHash: string | null;
  executionTimeMs: number;
  resultCount: number | null;
  cacheHit: boolean;
  errorMessage: string | null;
  metadata: string;
  createdAt: Date;
}

const COLUMNS = VARCHAR_LIMITS.memory_performance_metrics;
/** error_message and metadata are unbounded columns: bounded here. */
const LIMIT = { errorMessage: 2_000, metadata: 2_000, key: 100 };

/**
 * Text PostgreSQL stores (no NUL, no lone surrogate: U+FFFD instead) of at most `max` characters.
 * Free text (`redact`) has its secrets masked before anything is cut, so no half of one survives.
 */
function fitText(value: string, max: number, redact = false): string {
  // Bound the work first: an error message may be megabytes long.
  const bounded = value.slice(0, max * 2);
  let text = wellFormed((redact ? redactSecrets(bounded) : bounded).replaceAll('\u0000', ''));
  if (text.length > max) text = text.slice(0, /[\uD800-\uDBFF]/.test(text[max - 1]) ? max - 1 : max);
  return text;
}

const optionalText = (value: unknown, max: number, redact = false) => (typeof value === 'string' ? fitText(value, max, redact) : null);

/** Metadata rebuilt as plain JSON with clean strings, at most 8 levels and 50 entries per level. */
function cleanJson(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return fitText(value, LIMIT.metadata, true);
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  if (typeof value === 'boolean' || value === null) return value;
  if (typeof value !== 'object' || depth >= 8) return null;
  if (Array.isArray(value)) return value.slice(0, 50).map((item) => cleanJson(item, depth + 1));
  return Object.fromEntries(Object.entries(value).slice(0, 50).map(([key, item]) => [fitText(key, LIMIT.key), cleanJson(item, depth + 1)]));
}

function cleanMetadata(metadata: unknown): string {
  const json = JSON.stringify(cleanJson(metadata ?? {}) ?? {});
  return json.length <= LIMIT.metadata ? json : JSON.stringify({ truncated: true });
}

const count = (value: unknown, fallback: number | null) =>
  typeof value === 'number' && Number.isFinite(value) ? Math.min(Math.max(Math.round(value), 0), INT4_MAX) : fallback;

export function cleanMetric(row: MetricRow): CleanMetric {
  return {
    operationType: optionalText(row.operationType, COLUMNS.operation_type) || 'unknown',
    userId: optionalText(row.userId, COLUMNS.user_id),
    sessionId: optionalText(row.sessionId, COLUMNS.session_id),
    operationHash: optionalText(row.operationHash, COLUMNS.operation_hash),
    executionTimeMs: count(row.executionTimeMs, 0) as number,
    resultCount: count(row.resultCount, null),
    cacheHit: row.cacheHit === true,
    errorMessage: optionalText(row.errorMessage, LIMIT.errorMessage, true),
    metadata: cleanMetadata(row.metadata),
    createdAt: row.createdAt instanceof Date && !Number.isNaN(row.createdAt.getTime()) ? row.createdAt : new Date(),
  };
}

/** A rejection of the rows' values (data exception, constraint, size limit): other rows may pass. */
function rejectsData(error: unknown): boolean {
  const sqlState = error instanceof LtstError ? error.sqlState : errorCode(error);
  return sqlState !== undefined && /^(22|23|54)/.test(sqlState);
}

/**
 * Buffers memory_performance_metrics rows and writes them in one INSERT per 100 rows or per second,
 * so measuring an operation adds no round trip to it. Values are cleaned to fit their columns, so a
 * write does not fail on data; if one fails anyway, the batch is split until only the rows that
 * truly fail are left, and those alone are reported to onError.
 */
export class MetricsRecorder {
  private readonly writer: BufferedWriter<MetricRow>;

  constructor(
    private readonly schema: string,
    private readonly run: <T>(work: (db: Database) => Promise<T>) => Promise<T>,
    private readonly onError: (message: string) => void,
    private readonly clock: () => Date = () => new Date(),
  ) {
    this.writer = new BufferedWriter((rows) => this.write(rows.map(cleanMetric)), 100);
  }

  record(row: MetricRow): void {
    this.writer.add({ createdAt: this.clock(), ...row });
  }

  flush(): Promise<void> {
    return this.writer.flush();
  }

  private async write(rows: CleanMetric[]): Promise<void> {
    try {
      await this.insert(rows);
    } catch (error) {
      if (rows.length > 1 && rejectsData(error)) {
        const half = Math.ceil(rows.length / 2);
        await this.write(rows.slice(0, half));
        await this.write(rows.slice(half));
        return;
      }
      const types = [...new Set(rows.map((row) => row.operationType))].slice(0, 5).join(', ');
      const what = rows.length === 1 ? 'performance metric' : 'performance metrics';
      this.onError(`Could not record ${rows.length} ${what} (${types}): ${fitText(String((error as Error)?.message ?? error), LIMIT.errorMessage, true)}`);
    }
  }

  private insert(rows: CleanMetric[]): Promise<unknown> {
    const column = <K extends keyof CleanMetric>(key: K) => rows.map((row) => row[key]);
    return this.run((db) =>
      db.query(
        `INSERT INTO ${this.schema}.memory_performance_metrics
           (operation_type, user_id, session_id, operation_hash, execution_time_ms, result_count, cache_hit, error_message, metadata, created_at)
         SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::int[], $6::int[], $7::bool[], $8::text[], $9::jsonb[], $10::timestamptz[])
                  AS m(operation_type, user_id, session_id, operation_hash, execution_time_ms, result_count, cache_hit, error_message, metadata, created_at)
          -- A metric measured before its user was erased (another process may write it later) is dropped.
          WHERE m.user_id IS NULL OR NOT ${erasedSince(this.schema, 'm.user_id', 'm.created_at')}`,
        [
          column('operationType'),
          column('userId'),
          column('sessionId'),
          column('operationHash'),
          column('executionTimeMs'),
          column('resultCount'),
          column('cacheHit'),
          column('errorMessage'),
          column('metadata'),
          column('createdAt'),
        ],
      ),
    );
  }
}
