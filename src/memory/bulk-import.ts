import { invalidInput, LtstError } from '../errors';
import { loadMigrations, renderMigration } from '../schema/migrations';
import { VECTOR_INDEX } from '../schema/expected-objects';
import { instrument, type MemoryContext } from './context';
import { prepareMessage, type PreparedMessage, type StoreMessageInput } from './message-input';
import { importBatch } from './message-batch';
import { withEmbeddings } from './messages';
import { schemaInfo, type SchemaInfo } from './schema-info';
import { joinVectorGraph, type VectorGraphReport } from './vector-graph';
import { requireWholeNumber } from './validation';

export interface ImportMessagesOptions {
  /** Messages per transaction (default 2,000). */
  batchSize?: number;
  /** Transactions in flight at once, each on its own connection (default 2). */
  concurrency?: number;
  /**
   * Drop the HNSW index before the load and build it once after (default false). Building is many
   * times faster than keeping it up per message, but no message can be stored while it builds. The
   * index holds only the messages of users in the vector graph (past memory.vectorGraphMinMessages).
   */
  rebuildVectorIndex?: boolean;
  /** maintenance_work_mem for that build (default '1GB'); a graph that does not fit builds slower (about 2.2 kB per 384-d vector). */
  indexBuildMemory?: string;
}

export interface ImportMessagesReport {
  /** Messages read from the input. */
  read: number;
  /** Messages newly stored. */
  written: number;
  /** Messages whose idempotency key was already stored (a rerun of an import), not stored again. */
  duplicates: number;
  ms: number;
  /** Whether the HNSW index was rebuilt, and how long that took (included in ms). */
  vectorIndex: { rebuilt: boolean; ms: number };
  /** Users the load took past memory.vectorGraphMinMessages, admitted to the vector graph after it (included in ms). */
  vectorGraph: VectorGraphReport;
}

type Messages = Iterable<StoreMessageInput> | AsyncIterable<StoreMessageInput>;

const isIterable = (value: unknown): value is Messages =>
  typeof value === 'object' && value !== null && (Symbol.iterator in value || Symbol.asyncIterator in value);

/** A lane takes the messages of its sessions, so one session's messages are written in input order. */
function laneOf(sessionId: string, lanes: number): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < sessionId.length; i++) hash = Math.imul(hash ^ sessionId.charCodeAt(i), 0x01000193);
  return (hash >>> 0) % lanes;
}

const MEMORY_SETTING = /^[1-9][0-9]{0,6}(kB|MB|GB)$/;

/** The HNSW index as migration 0013 creates it, so a rebuilt index is the one the schema expects. */
function vectorIndexSql(ctx: MemoryContext, info: SchemaInfo): string {
  const migration = loadMigrations().find((m) => m.name === 'vector_graph_index');
  const sql = migration && renderMigration(migration, { schema: ctx.schema, vectorSchema: info.vectorSchema, dimensions: info.dimensions });
  const statement = sql?.match(/CREATE INDEX IF NOT EXISTS [^;]+/)?.[0];
  if (!statement) throw new Error('migration 0013 has no CREATE INDEX statement');
  return statement;
}

/**
 * Stores many messages (an import, a backfill of history) with every guarantee of storeMessages:
 * sessions created for their user, another user's session refused, gap-free indexes in input order
 * per session, idempotency keys (a rerun skips what is stored), the statistics and term index.
 */
export function bulkImportOperations(ctx: MemoryContext) {
  return {
    async importMessages(messages: Messages, options: ImportMessagesOptions = {}): Promise<ImportMessagesReport> {
      if (!isIterable(messages)) throw invalidInput('messages', 'is not a list of messages', 'Pass an array or an (async) iterable of messages.');
      const batchSize = requireWholeNumber('batchSize', options.batchSize, 2_000, 10_000, 1);
      const concurrency = requireWholeNumber('concurrency', options.concurrency, 2, 16, 1);
      const memory = options.indexBuildMemory ?? '1GB';
      if (!MEMORY_SETTING.test(memory)) throw invalidInput('indexBuildMemory', `is not an amount of memory: ${JSON.stringify(memory)}`, "Use a number and a unit, such as '512MB' or '2GB'.");
      return instrument(ctx, 'import_messages', { parameters: { batchSize, concurrency, rebuild: options.rebuildVectorIndex === true } }, async () => {
        const started = performance.now();
        const info = await schemaInfo(ctx);
        const rebuild = options.rebuildVectorIndex === true && info.hasEmbedding;
        const report: ImportMessagesReport = { read: 0, written: 0, duplicates: 0, ms: 0, vectorIndex: { rebuilt: false, ms: 0 }, vectorGraph: { users: 0, messages: 0 } };
        if (rebuild) await ctx.transaction((tx) => tx.query(`DROP INDEX IF EXISTS ${ctx.schema}.${VECTOR_INDEX}`));
        try {
          await load(ctx, info, messages, batchSize, concurrency, report);
          // Before the index is built, so flagging the rows costs no graph inserts.
          if (info.hasEmbedding) report.vectorGraph = await joinVectorGraph(ctx);
        } finally {
          // Also after a failed load: the index must not stay missing.
          if (rebuild) {
            const building = performance.now();
            await ctx.transaction((tx) => tx.query(vectorIndexSql(ctx, info)), { maintenance_work_mem: memory, statement_timeout: 0 });
            report.vectorIndex = { rebuilt: true, ms: Math.round(performance.now() - building) };
          }
        }
        report.ms = Math.round(performance.now() - started);
        return report;
      }, (report) => report.written);
    },
  };
}

/** Reads the input once, in lanes by session; each lane writes one batch while the next fills. */
async function load(ctx: MemoryContext, info: SchemaInfo, messages: Messages, batchSize: number, concurrency: number, report: ImportMessagesReport): Promise<void> {
  const lanes = Array.from({ length: concurrency }, () => ({ pending: [] as PreparedMessage[], writing: Promise.resolve() }));
  let failure: unknown;
  const write = async (batch: PreparedMessage[]) => {
    const withVectors = await withEmbeddings(ctx, info, batch);
    const { written, duplicates } = await ctx.transaction((tx) => importBatch(tx, ctx, info, withVectors));
    report.written += written;
    report.duplicates += duplicates;
  };
  const flush = async (lane: (typeof lanes)[number]) => {
    await lane.writing;
    const batch = lane.pending;
    lane.pending = [];
    lane.writing = write(batch).catch((error) => {
      failure ??= error;
    });
  };
  try {
    for await (const message of messages) {
      if (failure !== undefined) break;
      const prepared = prepareMessage(message, report.read++, info, ctx.options.maxContentBytes);
      const lane = lanes[laneOf(prepared.sessionId, concurrency)];
      lane.pending.push(prepared);
      if (lane.pending.length >= batchSize) await flush(lane);
    }
  } catch (error) {
    // A message refused (or the input failing): what is in flight still finishes first.
    failure ??= error;
  }
  for (const lane of lanes) if (failure === undefined && lane.pending.length > 0) await flush(lane);
  await Promise.all(lanes.map((lane) => lane.writing));
  if (failure !== undefined) {
    if (failure instanceof LtstError) {
      throw new LtstError(failure.code, failure.message, {
        field: failure.field,
        itemIndex: failure.itemIndex,
        sqlState: failure.sqlState,
        cause: failure.cause,
        hint: `${failure.hint ? `${failure.hint} ` : ''}${report.written} messages were stored before it; with idempotency keys, running the import again stores only the rest.`,
      });
    }
    throw failure;
  }
}
