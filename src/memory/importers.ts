import { LtstError } from '../errors';
import { instrument, type MemoryContext } from './context';
import { conversationMemorySource, n8nChatHistoriesSource, sourceTable, type ImportSource } from './import-sources';
import { prepareMessages, type StoreMessageInput } from './message-input';
import type { StoredMessage } from './messages';
import { schemaInfo } from './schema-info';
import { optionalId, requireWholeNumber } from './validation';

export interface ImportOptions {
  /** Source table, optionally schema-qualified (default: the source's usual name). */
  table?: string;
  /** Owner of every imported session; default: the row's user_id column, else its session id. */
  userId?: string;
  /** Source rows per transaction (default 500). */
  batchSize?: number;
}

export interface ImportReport {
  source: string;
  table: string;
  /** Source rows read. */
  rowsRead: number;
  /** Messages newly stored. */
  written: number;
  /** Messages not stored, by reason (already imported, empty, invalid JSON, another user's session...). */
  skipped: number;
  skippedReasons: Record<string, number>;
  /** The first 100 source rows skipped for a fault of their own (not the already imported ones), with why. */
  skippedRows: SkippedRow[];
  sessions: number;
  /** After the import: every touched session's session_length equals its message count. */
  integrity: { ok: boolean; problems: string[] };
}

export interface SkippedRow {
  /** The source row: its id, or for a table without one its session and time. */
  id: string;
  reason: string;
}

const MAX_SKIPPED_ROWS = 100;
const MAX_DETAIL = 200;

type StoreMessages = (messages: StoreMessageInput[]) => Promise<StoredMessage[]>;
type ImportedMessage = { message: StoreMessageInput; id: string };

/**
 * Stores the batch; a message the store refuses on its own (its itemIndex: a source row changed
 * since it was imported, a parent of another session) is skipped and the rest stored again.
 */
async function storeRefusingAlone(storeMessages: StoreMessages, batch: ImportedMessage[], skip: (reason: string, id?: string, detail?: string) => void): Promise<StoredMessage[]> {
  let pending = batch;
  while (pending.length > 0) {
    try {
      return await storeMessages(pending.map((m) => m.message));
    } catch (error) {
      if (!(error instanceof LtstError) || error.itemIndex === undefined) throw error;
      const refused = pending[error.itemIndex];
      skip(error.code === 'IDEMPOTENCY_CONFLICT' ? 'changed since it was imported' : `invalid ${error.field ?? 'message'}`, refused.id, error.message);
      pending = pending.filter((m) => m !== refused);
    }
  }
  return [];
}

async function runImport(ctx: MemoryContext, storeMessages: StoreMessages, makeSource: (columns: Set<string>) => ImportSource, options: ImportOptions, defaultTable: string): Promise<ImportReport> {
  const table = options.table ?? defaultTable;
  const owner = optionalId('userId', options.userId);
  const batchSize = requireWholeNumber('batchSize', options.batchSize, 500, 10_000, 1);
  const { quoted, columns } = await ctx.run((db) => sourceTable(db, table));
  const source = makeSource(columns);
  const info = await schemaInfo(ctx);
  const report: ImportReport = { source: source.name, table, rowsRead: 0, written: 0, skipped: 0, skippedReasons: {}, skippedRows: [], sessions: 0, integrity: { ok: true, problems: [] } };
  const skip = (reason: string, id?: string, detail?: string) => {
    report.skipped += 1;
    report.skippedReasons[reason] = (report.skippedReasons[reason] ?? 0) + 1;
    if (id !== undefined && report.skippedRows.length < MAX_SKIPPED_ROWS) {
      report.skippedRows.push({ id, reason: detail ? `${reason}: ${detail.slice(0, MAX_DETAIL)}` : reason });
    }
  };
  const touched = new Set<string>();
  for (let offset = 0; ; offset += batchSize) {
    const { rows } = await ctx.run((db) => db.query<Record<string, unknown>>(`SELECT * FROM ${quoted} ORDER BY ${source.orderBy} LIMIT $1 OFFSET $2`, [batchSize, offset]));
    report.rowsRead += rows.length;
    const batch: ImportedMessage[] = [];
    for (const { entry, id } of rows.flatMap((row) => source.toMessages(row).map((entry) => ({ entry, id: source.rowId(row) })))) {
      if ('skip' in entry) {
        skip(entry.skip, id, entry.detail);
        continue;
      }
      const message = { ...entry.message, userId: owner ?? entry.message.userId ?? entry.message.sessionId } as StoreMessageInput;
      try {
        prepareMessages([message], info, ctx.options.maxContentBytes);
        batch.push({ message, id });
      } catch (error) {
        if (!(error instanceof LtstError)) throw error;
        skip(`invalid ${error.field ?? 'message'}`, id, error.message);
      }
    }
    // Sessions of another user are skipped, never written into.
    const owners = await ctx.run((db) =>
      db.query<{ session_id: string; user_id: string }>(`SELECT session_id, user_id FROM ${ctx.schema}.conversation_sessions WHERE session_id = ANY($1)`, [[...new Set(batch.map((b) => b.message.sessionId))]]),
    );
    const ownerOf = new Map(owners.rows.map((row) => [row.session_id, row.user_id]));
    const allowed = batch.filter(({ message, id }) => {
      const owned = (ownerOf.get(message.sessionId) ?? message.userId) === message.userId;
      if (!owned) skip('session owned by another user', id);
      return owned;
    });
    for (const stored of await storeRefusingAlone(storeMessages, allowed, skip)) {
      touched.add(stored.sessionId);
      if (stored.duplicate) skip('already imported');
      else report.written += 1;
    }
    if (rows.length < batchSize) break;
  }

  report.sessions = touched.size;
  const { rows: wrong } = await ctx.run((db) =>
    db.query<{ session_id: string; session_length: number; messages: string }>(
      `SELECT s.session_id, s.session_length, (SELECT count(*) FROM ${ctx.schema}.conversation_messages m WHERE m.session_id = s.session_id) AS messages
         FROM ${ctx.schema}.conversation_sessions s WHERE s.session_id = ANY($1)`,
      [[...touched]],
    ),
  );
  report.integrity.problems = wrong
    .filter((row) => row.session_length !== Number(row.messages))
    .map((row) => `session ${row.session_id}: session_length ${row.session_length} but ${row.messages} messages`);
  report.integrity.ok = report.integrity.problems.length === 0;
  return report;
}

export function importOperations(ctx: MemoryContext, storeMessages: StoreMessages) {
  const measured = (name: string, options: ImportOptions, work: () => Promise<ImportReport>) =>
    instrument(ctx, name, { userId: options.userId, parameters: options }, work, (report) => report.written);
  return {
    /** Imports the seed's conversation_memory table (session_id, human_message, ai_response, context, created_at); running it again imports nothing new. */
    importConversationMemory: (options: ImportOptions = {}) =>
      measured('import_conversation_memory', options, () => runImport(ctx, storeMessages, conversationMemorySource, options, 'conversation_memory')),
    /** Imports n8n's Postgres Chat Memory table (n8n_chat_histories); running it again imports nothing new. */
    importN8nChatHistories: (options: ImportOptions = {}) =>
      measured('import_n8n_chat_histories', options, () => runImport(ctx, storeMessages, n8nChatHistoriesSource, options, 'n8n_chat_histories')),
  };
}
