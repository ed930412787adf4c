import { createHash } from 'node:crypto';
import type { Database, TransactionSettings } from '../db/database';
import type { Embedder } from '../embeddings/embedder';
import type { DocumentsSource } from '../retrieval/documents';
import type { RelevanceRecorder } from '../retrieval/relevance';
import type { MetricsRecorder } from './metrics';
import type { VectorGraphAdmissions } from './vector-graph';

/** Limits and knobs of the memory operations, with their defaults filled in. */
export interface MemoryOptions {
  /** Largest message content accepted, in bytes (default 1 MB). */
  maxContentBytes: number;
  /** Operations slower than this are flagged in metrics and reported to onWarning (default 5 s). */
  slowOperationMs: number;
  /** A user's new session starting within this many minutes after their last one is linked as its continuation (default 30; 0 turns it off). */
  continuationWindowMinutes: number;
  /**
   * A user's nearest messages are searched through the HNSW graph once the user has more messages
   * than this (default 20,000); until then exactly, which is faster there, and their saves skip the graph.
   */
  vectorGraphMinMessages: number;
  /** The time used for expiry decisions (default: the real clock). Tests pass a controllable one. */
  clock: () => Date;
  /** Receives warnings such as slow operations; the core never prints. */
  onWarning: (message: string) => void;
}

/** What every memory module gets: the database, the quoted schema, options and metrics. */
export interface MemoryContext {
  /** Quoted schema name for SQL text, e.g. `"public"`. */
  schema: string;
  options: MemoryOptions;
  run<T>(work: (db: Database) => Promise<T>): Promise<T>;
  transaction<T>(work: (tx: Parameters<Parameters<Database['transaction']>[0]>[0]) => Promise<T>, settings?: TransactionSettings): Promise<T>;
  metrics: MetricsRecorder;
  relevance: RelevanceRecorder;
  vectorGraph: VectorGraphAdmissions;
  /** The embedder for stored messages and queries, made for the installed dimension; undefined: none. */
  embedder(): Promise<Embedder | undefined>;
  /** The store's documents table, validated at open; undefined: the store has none. */
  documents?: DocumentsSource;
}

export const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

interface Measured {
  userId?: string;
  sessionId?: string;
  /** Parameters to hash into operation_hash. */
  parameters?: unknown;
}

/** Failures whose metric is already recorded, so the store's outer guard does not record them twice. */
const recordedFailures = new WeakSet<object>();

/**
 * Records the metric of an operation that failed before it was measured (bad input is refused
 * before any work starts); failures measured by `instrument` are not recorded again.
 */
export function recordUnmeasuredFailure(ctx: MemoryContext, operationType: string, error: unknown): void {
  if (typeof error === 'object' && error !== null && recordedFailures.has(error)) return;
  ctx.metrics.record({ operationType, executionTimeMs: 0, errorMessage: error instanceof Error ? error.message : String(error) });
}

/**
 * Runs one public operation and records its metric (also when it fails). `count` turns the result
 * into result_count.
 */
export async function instrument<T>(
  ctx: MemoryContext,
  operationType: string,
  measured: Measured,
  work: () => Promise<T>,
  count: (result: T) => number = () => 1,
  cacheHit: (result: T) => boolean = () => false,
): Promise<T> {
  const started = performance.now();
  const finish = (resultCount: number | undefined, error?: unknown, hit = false) => {
    const executionTimeMs = performance.now() - started;
    const slow = executionTimeMs > ctx.options.slowOperationMs;
    if (slow) ctx.options.onWarning(`${operationType} took ${Math.round(executionTimeMs)} ms (slow operation threshold ${ctx.options.slowOperationMs} ms)`);
    ctx.metrics.record({
      operationType,
      userId: measured.userId,
      sessionId: measured.sessionId,
      operationHash: measured.parameters === undefined ? undefined : sha256(JSON.stringify(measured.parameters)),
      executionTimeMs,
      resultCount,
      cacheHit: hit,
      errorMessage: error === undefined ? undefined : error instanceof Error ? error.message : String(error),
      metadata: slow ? { slow: true } : {},
    });
  };
  try {
    const result = await work();
    finish(count(result), undefined, cacheHit(result));
    return result;
  } catch (error) {
    finish(undefined, error);
    if (typeof error === 'object' && error !== null) recordedFailures.add(error);
    throw error;
  }
}
