import { DEFAULT_SCHEMA, quoteSchema, validateDimensions, type MemoryConfig } from './config';
import { dataExceptionAsInvalidInput, missingSchemaObjectAsConfigError } from './db/data-exceptions';
import { closeAllDatabases } from './db/registry';
import { redactSecrets } from './redact';
import { recordUnmeasuredFailure, type MemoryContext, type MemoryOptions } from './memory/context';
import { backfillOperations } from './memory/backfill';
import { bulkImportOperations } from './memory/bulk-import';
import { contextOperations } from './memory/context-entries';
import { eventOperations } from './memory/events';
import { importOperations } from './memory/importers';
import { maintenanceOperations } from './memory/maintenance';
import { messageOperations } from './memory/messages';
import { flushAllBuffers } from './memory/buffered-writer';
import { MetricsRecorder } from './memory/metrics';
import { preferenceOperations } from './memory/preferences';
import { forgetSchemaInfo, schemaInfo } from './memory/schema-info';
import { createEmbedder, type EmbedderConfig } from './embeddings';
import type { Embedder } from './embeddings/embedder';
import { relationshipOperations } from './memory/relationships';
import { sessionOperations } from './memory/sessions';
import { allStoresSettled, StoreLifetime } from './memory/store-lifetime';
import { readUsage, type UsageReport } from './memory/usage';
import { userDataOperations } from './memory/user-data';
import { DEFAULT_VECTOR_GRAPH_MIN_MESSAGES, joinVectorGraph, validVectorGraphMinMessages, VectorGraphAdmissions, vectorGraphOperations } from './memory/vector-graph';
import { RelevanceRecorder } from './retrieval/relevance';
import { documentsSource } from './retrieval/documents';
import { retrievalOperations } from './retrieval/retrieve';
import { asAllUsers } from './db/scope';
import { allUsersScope, inputUserScope, messagesScope, optionalUserScope, userScope, withDataScopes, type ScopeRules } from './memory/operation-scopes';
import { health, type HealthReport } from './schema/health';
import { migrate, type MigrationReport, type SchemaTarget } from './schema/migrator';

const DEFAULT_OPTIONS: MemoryOptions = {
  maxContentBytes: 1024 * 1024,
  slowOperationMs: 5_000,
  continuationWindowMinutes: 30,
  vectorGraphMinMessages: DEFAULT_VECTOR_GRAPH_MIN_MESSAGES,
  clock: () => new Date(),
  onWarning: () => undefined,
};

const snakeCase = (name: string) => name.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`);

/**
 * Every operation records a metric when it fails, also when bad input stops it before it starts,
 * a data exception the database still raised (SQLSTATE 22xxx) reaches the caller as INVALID_INPUT,
 * and a missing table of the store's schema as INVALID_CONFIG saying to migrate.
 */
function withFailureMetrics<T extends Record<string, unknown>>(ctx: MemoryContext, ops: T, schemaName: string): T {
  const guarded: Record<string, unknown> = {};
  for (const [name, op] of Object.entries(ops)) {
    guarded[name] = async (...args: unknown[]) => {
      try {
        return await (op as (...a: unknown[]) => Promise<unknown>)(...args);
      } catch (error) {
        recordUnmeasuredFailure(ctx, snakeCase(name), error);
        throw missingSchemaObjectAsConfigError(dataExceptionAsInvalidInput(error), schemaName);
      }
    };
  }
  return guarded as T;
}

/** Warnings quote failures (a metrics write, an embeddings call): their secrets are masked before the caller's handler sees them. */
function withRedactedWarnings(options: MemoryOptions): MemoryOptions {
  const onWarning = options.onWarning;
  return { ...options, onWarning: (message) => onWarning(redactSecrets(message)) };
}

/** A configured provider is made for the dimension recorded at install, so the two always agree. */
async function resolveEmbedder(embeddings: EmbedderConfig | Embedder, ctx: MemoryContext): Promise<Embedder | undefined> {
  if ('embed' in embeddings) return embeddings;
  if (embeddings.provider === 'none') return undefined;
  return createEmbedder(embeddings, (await schemaInfo(ctx)).dimensions);
}

function unscopedOperations(ctx: MemoryContext) {
  const messages = messageOperations(ctx);
  return {
    ...sessionOperations(ctx),
    ...messages,
    // The import stores in its own all-users scope: a source table holds many users' sessions.
    ...importOperations(ctx, messages.storeMessages),
    ...bulkImportOperations(ctx),
    ...contextOperations(ctx),
    ...preferenceOperations(ctx),
    ...relationshipOperations(ctx),
    ...eventOperations(ctx),
    ...maintenanceOperations(ctx),
    ...userDataOperations(ctx),
    ...retrievalOperations(ctx),
    ...backfillOperations(ctx),
    ...vectorGraphOperations(ctx),
  };
}

/**
 * The users whose rows each operation may touch, enforced by row-level security (src/db/scope.ts):
 * an operation added without a line here does not compile. event_ledger has no row-level security
 * (it coordinates workflows, not one user's memory), so the event operations run for all users.
 */
const SCOPES: ScopeRules<ReturnType<typeof unscopedOperations>> = {
  getSession: userScope,
  listSessions: userScope,
  updateSession: inputUserScope,
  storeMessages: messagesScope,
  storeMessage: inputUserScope,
  getMessages: userScope,
  importConversationMemory: allUsersScope,
  importN8nChatHistories: allUsersScope,
  importMessages: allUsersScope,
  setContext: inputUserScope,
  getContext: inputUserScope,
  deleteContext: inputUserScope,
  upsertPreference: inputUserScope,
  getPreferences: userScope,
  deletePreference: userScope,
  markPreferencesUsed: userScope,
  linkSessions: inputUserScope,
  getRelatedSessions: inputUserScope,
  detectRelatedSessions: inputUserScope,
  logEvent: allUsersScope,
  claimEvents: allUsersScope,
  completeEvent: allUsersScope,
  failEvent: allUsersScope,
  cleanExpired: allUsersScope,
  archiveSessions: allUsersScope,
  usageReport: allUsersScope,
  deleteUserData: userScope,
  exportUserData: userScope,
  retrieveContext: inputUserScope,
  backfillEmbeddings: optionalUserScope,
  joinVectorGraph: optionalUserScope,
};

function operations(ctx: MemoryContext, schemaName: string) {
  return withFailureMetrics(ctx, withDataScopes(unscopedOperations(ctx), SCOPES), schemaName);
}

export type MemoryOperations = ReturnType<typeof operations>;

export type MemoryHealthReport = HealthReport & { usage?: UsageReport };

export interface MemoryStore extends MemoryOperations {
  /** The schema this store reads and writes. */
  readonly schema: string;
  /** Installs or upgrades the schema; safe to call from many processes at once. */
  migrate(): Promise<MigrationReport>;
  /** The schema state, and once installed its usage (sizes, index use, triggers, cache hit rate); writes nothing. */
  health(): Promise<MemoryHealthReport>;
  /** Writes what is buffered now (performance metrics, the relevance gained by retrieved messages) and finishes the vector-graph admissions retrievals asked for. */
  flush(): Promise<void>;
  /**
   * Lets this store's operations in flight finish, writes what is buffered, and gives back its share
   * of the shared connection, which closes when its last user closes (a second close does nothing;
   * a store used again after close() takes a share again and needs another close()).
   */
  close(): Promise<void>;
}

/**
 * Opens the memory store for `config`. Nothing connects until the first operation; connections
 * come from the process-wide registry, so opening a store per n8n execution costs nothing.
 */
export function openMemory(config: MemoryConfig = { embedded: {} }): MemoryStore {
  const schemaName = config.schema ?? DEFAULT_SCHEMA;
  const target: SchemaTarget = { name: schemaName, quoted: quoteSchema(schemaName) };
  if (config.dimensions !== undefined) validateDimensions(config.dimensions);
  const documents = documentsSource(config.documents);
  const vectorGraphMinMessages = validVectorGraphMinMessages(config.memory?.vectorGraphMinMessages);
  const lifetime = new StoreLifetime(config);
  const run = lifetime.run;
  // Buffered writers batch many users' rows and flush from timers: always in the scope of all users.
  const runForAllUsers: typeof run = (work) => asAllUsers(() => run(work));
  const ctx: MemoryContext = {
    schema: target.quoted,
    options: withRedactedWarnings({ ...DEFAULT_OPTIONS, ...config.memory, vectorGraphMinMessages }),
    run,
    transaction: (work, settings) => run((db) => db.transaction(work, settings)),
    metrics: new MetricsRecorder(target.quoted, runForAllUsers, (message) => ctx.options.onWarning(message), () => ctx.options.clock()),
    relevance: new RelevanceRecorder(target.quoted, runForAllUsers, (message) => ctx.options.onWarning(message)),
    vectorGraph: new VectorGraphAdmissions((userId) => joinVectorGraph(ctx, userId), (message) => ctx.options.onWarning(message)),
    documents,
    embedder: () => (embedder ??= resolveEmbedder(config.embeddings ?? { provider: 'local' }, ctx).catch((error: unknown) => {
      embedder = undefined;
      throw error;
    })),
  };
  let embedder: Promise<Embedder | undefined> | undefined;
  const flush = async () => {
    await ctx.relevance.flush();
    await ctx.vectorGraph.flush();
    await ctx.metrics.flush();
  };
  return {
    ...lifetime.track({
      ...operations(ctx, schemaName),
      migrate: async () => {
        const report = await runForAllUsers((db) => migrate(db, target, config.dimensions));
        forgetSchemaInfo(ctx);
        return report;
      },
      health: () =>
        runForAllUsers(async (db) => {
          const report = await health(db, target);
          return report.installed ? { ...report, usage: await readUsage(db, ctx, undefined, ctx.options.clock()) } : report;
        }),
      flush,
    }),
    schema: schemaName,
    close: () => lifetime.close(flush),
  };
}

/** Lets every store operation in flight finish, writes every store's buffered metrics, then closes every shared database of this process. */
export async function closeAllMemory(): Promise<void> {
  await allStoresSettled();
  await flushAllBuffers();
  await closeAllDatabases();
}
