import type { Database } from '../db/database';

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
}

const FLUSH_ROWS = 100;

/** Recorders holding unwritten rows, so closing everything can write them first. */
const pending = new Set<MetricsRecorder>();

export async function flushAllMetrics(): Promise<void> {
  await Promise.all([...pending].map((recorder) => recorder.flush()));
}
const FLUSH_INTERVAL_MS = 1_000;

/**
 * Buffers memory_performance_metrics rows and writes them in one INSERT per batch, so measuring an
 * operation adds no round trip to it. Rows not yet flushed are lost if the process dies: these are
 * measurements, not memory.
 */
export class MetricsRecorder {
  private buffer: MetricRow[] = [];
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();
  /** Rows that could not be written (the database refused the batch). */
  dropped = 0;

  constructor(
    private readonly schema: string,
    private readonly run: <T>(work: (db: Database) => Promise<T>) => Promise<T>,
  ) {}

  record(row: MetricRow): void {
    this.buffer.push(row);
    pending.add(this);
    if (this.buffer.length >= FLUSH_ROWS) void this.flush();
    else if (!this.timer) {
      this.timer = setTimeout(() => void this.flush(), FLUSH_INTERVAL_MS);
      this.timer.unref();
    }
  }

  /** Writes every buffered row now. */
  flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const rows = this.buffer;
    this.buffer = [];
    pending.delete(this);
    if (rows.length === 0) return this.flushing;
    this.flushing = this.flushing.then(() => this.write(rows));
    return this.flushing;
  }

  private async write(rows: MetricRow[]): Promise<void> {
    const column = <K extends keyof MetricRow>(key: K) => rows.map((row) => row[key] ?? null);
    try {
      await this.run((db) =>
        db.query(
          `INSERT INTO ${this.schema}.memory_performance_metrics
             (operation_type, user_id, session_id, operation_hash, execution_time_ms, result_count, cache_hit, error_message, metadata)
           SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::int[], $6::int[], $7::bool[], $8::text[], $9::jsonb[])`,
          [
            column('operationType'),
            column('userId'),
            column('sessionId'),
            column('operationHash'),
            rows.map((row) => Math.round(row.executionTimeMs)),
            column('resultCount'),
            rows.map((row) => row.cacheHit ?? false),
            column('errorMessage'),
            rows.map((row) => JSON.stringify(row.metadata ?? {})),
          ],
        ),
      );
    } catch {
      this.dropped += rows.length;
    }
  }
}
