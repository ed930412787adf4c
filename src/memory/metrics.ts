import type { Database } from '../db/database';
import { BufferedWriter } from './buffered-writer';

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

/**
 * Buffers memory_performance_metrics rows and writes them in one INSERT per 100 rows or per second,
 * so measuring an operation adds no round trip to it.
 */
export class MetricsRecorder {
  private readonly writer: BufferedWriter<MetricRow>;

  constructor(
    private readonly schema: string,
    private readonly run: <T>(work: (db: Database) => Promise<T>) => Promise<T>,
    private readonly onError: (message: string) => void,
  ) {
    this.writer = new BufferedWriter((rows) => this.write(rows), 100);
  }

  record(row: MetricRow): void {
    this.writer.add(row);
  }

  flush(): Promise<void> {
    return this.writer.flush();
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
    } catch (error) {
      this.onError(`Could not record ${rows.length} performance metrics: ${(error as Error).message}`);
    }
  }
}
