import type { Queryable } from '../db/database';
import { errorCode, LtstError } from '../errors';
import { instrument, type MemoryContext } from './context';
import { storeBatch, vectorList } from './message-batch';
import { prepareEmbedding, prepareMessages, type PreparedMessage, type StoreMessageInput } from './message-input';
import { MESSAGE_COLUMNS, toMessage, type MessageRow, type StoredMessage } from './message-rows';
import { requireOwner } from './ownership';
import { schemaInfo, type SchemaInfo } from './schema-info';
import { requireId, requireWholeNumber } from './validation';

export { MESSAGE_COLUMNS, toMessage, type MessageRow, type StoredMessage } from './message-rows';

/** Raised by ltst_append_messages (migrations 0008, 0009), undoing what it did: the batch needs the general path. */
const NOT_A_PLAIN_APPEND = 'LT001';

/**
 * Whether ltst_append_messages (installed with pgvector) may take the batch: one session and user,
 * no parent message.
 */
const appendable = (info: SchemaInfo, [first, ...rest]: PreparedMessage[]) =>
  info.hasEmbedding && first.parentMessageId === null && rest.every((m) => m.sessionId === first.sessionId && m.userId === first.userId && m.parentMessageId === null);

/**
 * The common case in one round trip: messages to one session that exists and is the caller's, with
 * keys never seen before (the function locks the session and keeps every guarantee of storeBatch).
 * Undefined when the session is new or another user's, or a key is repeated or was seen before (a
 * retry): storeBatch then returns the stored message or says the key names another one.
 */
async function appendToSession(db: Queryable, ctx: MemoryContext, info: SchemaInfo, batch: PreparedMessage[]): Promise<StoredMessage[] | undefined> {
  const [first] = batch;
  const column = <K extends keyof PreparedMessage>(key: K) => batch.map((m) => m[key]);
  try {
    const { rows } = await db.query<MessageRow & { duplicate: boolean }>(
      `SELECT * FROM ${ctx.schema}.ltst_append_messages($1, $2, $3::text[], $4::text[], $5::text[], $6::jsonb[], $7::timestamptz[], $8::text[], $9::text[], $10::text[], $11::${info.vectorSchema}.vector[])`,
      [first.sessionId, first.userId, column('role'), column('content'), column('messageType'), column('metadata'), column('timestamp'), column('idempotencyKey'), column('contentHash'), column('contextHash'), vectorList(info, batch)],
      { prepare: true },
    );
    return rows.map((row) => toMessage(row, row.duplicate));
  } catch (error) {
    if ((error instanceof LtstError ? error.sqlState : errorCode(error)) === NOT_A_PLAIN_APPEND) return undefined;
    throw error;
  }
}

/**
 * Valid messages without an embedding get one from the configured embedder: one batched call,
 * before the transaction, so a slow API holds no connection.
 */
export async function withEmbeddings(ctx: MemoryContext, info: SchemaInfo, batch: PreparedMessage[]): Promise<PreparedMessage[]> {
  const missing = batch.filter((m) => m.embedding === null && m.content.trim() !== '');
  if (!info.hasEmbedding || missing.length === 0) return batch;
  const embedder = await ctx.embedder();
  if (!embedder) return batch;
  const vectors = await embedder.embed(missing.map((m) => m.content));
  missing.forEach((m, k) => (m.embedding = prepareEmbedding(vectors[k], info)));
  return batch;
}

export function messageOperations(ctx: MemoryContext) {
  /**
   * Stores one message or a batch in one transaction: all are written, or none (any bad
   * message, or a session of another user, refuses the whole batch).
   */
  const storeMessages = (messages: StoreMessageInput[]): Promise<StoredMessage[]> =>
    instrument(
      ctx,
      'store_messages',
      { userId: messages?.[0]?.userId, sessionId: messages?.[0]?.sessionId },
      async () => {
        const info = await schemaInfo(ctx);
        const batch = await withEmbeddings(ctx, info, prepareMessages(messages, info, ctx.options.maxContentBytes));
        const appended = appendable(info, batch) ? await ctx.run((db) => appendToSession(db, ctx, info, batch)) : undefined;
        return appended ?? ctx.transaction((tx) => storeBatch(tx, ctx, info, batch));
      },
      (stored) => stored.length,
    );

  return {
    storeMessages,
    storeMessage: async (message: StoreMessageInput): Promise<StoredMessage> => (await storeMessages([message]))[0],

    /** The newest `limit` messages of a session, in chronological order. */
    async getMessages(userId: string, sessionId: string, options: { limit?: number } = {}): Promise<StoredMessage[]> {
      requireId('userId', userId);
      requireId('sessionId', sessionId);
      const limit = requireWholeNumber('limit', options.limit, 50, 10_000);
      return instrument(
        ctx,
        'get_messages',
        { userId, sessionId },
        () =>
          ctx.run(async (db) => {
            // One round trip: the session's owner, and its newest messages (none: one row of nulls).
            const { rows } = await db.query<MessageRow & { owner: string }>(
              `SELECT s.user_id AS owner, newest.* FROM ${ctx.schema}.conversation_sessions s
                 LEFT JOIN LATERAL (SELECT ${MESSAGE_COLUMNS} FROM ${ctx.schema}.conversation_messages
                                     WHERE session_id = s.session_id ORDER BY message_index DESC LIMIT $2) newest ON true
                WHERE s.session_id = $1`,
              [sessionId, limit],
            );
            await requireOwner(db, ctx, rows[0]?.owner, userId, sessionId);
            return rows.filter((row) => row.message_id !== null).reverse().map((row) => toMessage(row));
          }),
        (rows) => rows.length,
      );
    },
  };
}
