import type { Queryable } from '../db/database';
import { invalidInput, LtstError } from '../errors';
import type { Role, StoreMessageInput } from './message-input';
import { sha256 } from './context';

/** One source message, or why it cannot be imported (`skip` is the reason counted, `detail` says more). */
export type SourceMessage = { message: Omit<StoreMessageInput, 'userId'> & { userId?: string } } | { skip: string; detail?: string };

/** A table that existing memory lives in: how to read it in a stable order, and how a row becomes messages. */
export interface ImportSource {
  name: string;
  /** ORDER BY that keeps each session's turns in order (a unique last key makes pages stable). */
  orderBy: string;
  /** How the import report names a source row. */
  rowId(row: Record<string, unknown>): string;
  toMessages(row: Record<string, unknown>): SourceMessage[];
}

const TABLE_NAME = /^([A-Za-z_][A-Za-z0-9_]*\.)?[A-Za-z_][A-Za-z0-9_]*$/;

/** Validates `schema.table` or `table` and quotes each part; refuses a table that does not exist. */
export async function sourceTable(db: Queryable, table: string): Promise<{ quoted: string; columns: Set<string> }> {
  if (typeof table !== 'string' || !TABLE_NAME.test(table)) {
    throw invalidInput('table', `is not a table name: ${JSON.stringify(table)}`, 'Use a name such as n8n_chat_histories or myschema.conversation_memory.');
  }
  const quoted = table.split('.').map((part) => `"${part}"`).join('.');
  const { rows } = await db.query<{ column_name: string }>(
    `SELECT attname AS column_name FROM pg_attribute WHERE attrelid = to_regclass($1) AND attnum > 0 AND NOT attisdropped`,
    [quoted],
  );
  if (rows.length === 0) throw new LtstError('NOT_FOUND', `Table ${table} does not exist`, { hint: 'Check the table name (and its schema) of the memory you want to import.' });
  return { quoted, columns: new Set(rows.map((row) => row.column_name)) };
}

const text = (value: unknown): string =>
  typeof value === 'string' ? value : value instanceof Date ? value.toISOString() : value === null || value === undefined ? '' : String(value);

/** The seed's conversation_memory: one row per exchange (human_message, ai_response). */
export function conversationMemorySource(columns: Set<string>): ImportSource {
  return {
    name: 'conversation_memory',
    orderBy: 'session_id, created_at, ctid',
    rowId: (row) => (columns.has('id') ? text(row.id) : `${text(row.session_id)} at ${text(row.created_at)}`),
    toMessages(row) {
      const exchange = sha256(`${text(row.session_id)}\u0000${text(row.created_at)}\u0000${text(row.human_message)}\u0000${text(row.ai_response)}`).slice(0, 40);
      const base = {
        sessionId: text(row.session_id),
        userId: columns.has('user_id') && row.user_id ? text(row.user_id) : undefined,
        timestamp: (row.created_at as Date | null) ?? undefined,
        metadata: row.context === null || row.context === undefined ? {} : { context: row.context, importedFrom: 'conversation_memory' },
      };
      const turn = (role: Role, content: string, suffix: string): SourceMessage =>
        content.trim() === '' ? { skip: `empty ${role} turn` } : { message: { ...base, role, content, idempotencyKey: `import:conversation_memory:${exchange}:${suffix}` } };
      return [turn('human', text(row.human_message), 'h'), turn('ai', text(row.ai_response), 'a')];
    },
  };
}

const N8N_ROLES: Record<string, Role> = { human: 'human', ai: 'ai', system: 'system', tool: 'tool' };

/** LangChain message content: a string, or blocks of which the text ones count. */
function langchainText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) return content.map((block) => (typeof block === 'string' ? block : text((block as { text?: unknown })?.text))).join('');
  return '';
}

/** n8n's Postgres Chat Memory (LangChain PostgresChatMessageHistory): id, session_id, message jsonb. */
export function n8nChatHistoriesSource(columns: Set<string>): ImportSource {
  return {
    name: 'n8n_chat_histories',
    orderBy: 'session_id, id',
    rowId: (row) => text(row.id),
    toMessages(row) {
      let message: { type?: unknown; data?: { content?: unknown } } | null;
      try {
        // A text column holds whatever was written to it: one bad row is skipped, not the import.
        message = typeof row.message === 'string' ? JSON.parse(row.message) : (row.message as typeof message);
      } catch (error) {
        return [{ skip: 'invalid JSON in message', detail: (error as Error).message }];
      }
      const type = message?.type;
      const role = typeof type === 'string' && Object.hasOwn(N8N_ROLES, type) ? N8N_ROLES[type] : undefined;
      if (!role) return [{ skip: `message type ${JSON.stringify(type)?.slice(0, 60)} has no LTST role` }];
      const content = langchainText(message?.data?.content);
      if (content.trim() === '') return [{ skip: `empty ${role} message` }];
      return [
        {
          message: {
            sessionId: text(row.session_id),
            userId: columns.has('user_id') && row.user_id ? text(row.user_id) : undefined,
            role,
            content,
            timestamp: columns.has('created_at') ? ((row.created_at as Date | null) ?? undefined) : undefined,
            metadata: { importedFrom: 'n8n_chat_histories', sourceId: Number(row.id) },
            idempotencyKey: `import:n8n_chat_histories:${text(row.id)}`,
          },
        },
      ];
    },
  };
}
