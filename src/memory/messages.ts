import type { Queryable } from '../db/database';
import { VectorListParam } from '../db/vectors';
import { errorCode, invalidInput, LtstError } from '../errors';
import { instrument, type MemoryContext } from './context';
import { atItem, prepareEmbedding, prepareMessages, type PreparedMessage, type Role, type StoreMessageInput } from './message-input';
import { forbiddenSession, requireOwner, sessionExists } from './ownership';
import { schemaInfo, type SchemaInfo } from './schema-info';
import { requireId, requireWholeNumber } from './validation';
import { toDate } from './rows';

export interface StoredMessage {
  messageId: number;
  sessionId: string;
  userId: string;
  role: Role;
  content: string;
  messageType: string;
  messageIndex: number;
  contentHash: string;
  contextHash: string;
  parentMessageId: number | null;
  metadata: Record<string, unknown>;
  idempotencyKey: string | null;
  timestamp: Date;
  createdAt: Date;
  /** True when an earlier message with the same idempotency key was returned instead of storing again. */
  duplicate: boolean;
}

export interface MessageRow {
  message_id: string;
  session_id: string;
  user_id: string;
  role: Role;
  content: string;
  message_type: string;
  message_index: number;
  content_hash: string;
  context_hash: string;
  parent_message_id: string | null;
  metadata: Record<string, unknown>;
  idempotency_key: string | null;
  timestamp: Date | string;
  created_at: Date | string;
}

export const MESSAGE_COLUMNS = `message_id::text, session_id, user_id, role, content, message_type, message_index, content_hash, context_hash,
  parent_message_id::text, metadata, idempotency_key, "timestamp", created_at`;

export const toMessage = (row: MessageRow, duplicate = false): StoredMessage => ({
  messageId: Number(row.message_id),
  sessionId: row.session_id,
  userId: row.user_id,
  role: row.role,
  content: row.content,
  messageType: row.message_type,
  messageIndex: row.message_index,
  contentHash: row.content_hash,
  contextHash: row.context_hash,
  parentMessageId: row.parent_message_id === null ? null : Number(row.parent_message_id),
  metadata: row.metadata,
  idempotencyKey: row.idempotency_key,
  timestamp: toDate(row.timestamp),
  createdAt: toDate(row.created_at),
  duplicate,
});

const keyOf = (m: { sessionId: string; idempotencyKey: string | null }) => (m.idempotencyKey === null ? null : `${m.sessionId}\u0000${m.idempotencyKey}`);

/** Creates missing sessions, then locks every session of the batch in id order (no deadlocks) and checks its owner. */
async function lockSessions(tx: Queryable, ctx: MemoryContext, owners: Map<string, string>, batch: PreparedMessage[]): Promise<string[]> {
  const ids = [...owners.keys()].sort();
  // No conflict target: every unique index is an arbiter. With (session_id) alone, two batches
  // creating one session at once could fail on the other one, (session_id, user_id).
  const created = await tx.query<{ session_id: string }>(
    `INSERT INTO ${ctx.schema}.conversation_sessions (session_id, user_id)
     SELECT * FROM unnest($1::text[], $2::text[]) ON CONFLICT DO NOTHING RETURNING session_id`,
    [ids, ids.map((id) => owners.get(id))],
  );
  const { rows } = await tx.query<{ session_id: string; user_id: string }>(
    `SELECT session_id, user_id FROM ${ctx.schema}.conversation_sessions WHERE session_id = ANY($1) ORDER BY session_id FOR UPDATE`,
    [ids],
  );
  const refuse = (sessionId: string) => atItem((batch.find((m) => m.sessionId === sessionId) as PreparedMessage).itemIndex, forbiddenSession(sessionId));
  const wrong = rows.find((row) => row.user_id !== owners.get(row.session_id));
  if (wrong) throw refuse(wrong.session_id);
  // Row-level security hides another user's session: one neither created nor seen may be taken.
  const seen = new Set(rows.map((row) => row.session_id));
  for (const id of ids) if (!seen.has(id) && (await sessionExists(tx, ctx, id))) throw refuse(id);
  return created.rows.map((row) => row.session_id);
}

/** A parent must be a stored message of the same session. */
async function checkParents(tx: Queryable, ctx: MemoryContext, fresh: PreparedMessage[]): Promise<void> {
  const wanted = fresh.filter((m) => m.parentMessageId !== null);
  if (wanted.length === 0) return;
  const { rows } = await tx.query<{ id: string; session_id: string }>(
    `SELECT message_id::text AS id, session_id FROM ${ctx.schema}.conversation_messages WHERE message_id = ANY($1::bigint[])`,
    [wanted.map((m) => m.parentMessageId)],
  );
  const sessionOf = new Map(rows.map((row) => [row.id, row.session_id]));
  const bad = wanted.find((m) => sessionOf.get(m.parentMessageId as string) !== m.sessionId);
  if (bad) {
    throw atItem(bad.itemIndex, invalidInput('parentMessageId', `${bad.parentMessageId} is not a message of session "${bad.sessionId}"`, 'Use the messageId of an earlier message in the same session, or leave it empty.'));
  }
}

/**
 * A key seen again must name the same message (same role and content in its session): a retry. The
 * same key for another message is a reused key, refused rather than answered with the wrong turn.
 */
function requireSameMessage(earlier: { role: Role; contentHash: string }, m: PreparedMessage, index: number, earlierIs: string): void {
  if (earlier.role === m.role && earlier.contentHash === m.contentHash) return;
  const field = `messages[${index}].idempotencyKey`;
  const differs = earlier.role !== m.role ? `role ${earlier.role}, not ${m.role}` : 'other content';
  throw new LtstError('IDEMPOTENCY_CONFLICT', `${field} "${m.idempotencyKey}" was already used in session "${m.sessionId}" for ${earlierIs} with ${differs}`, {
    field,
    itemIndex: index,
    hint: 'Give every message its own idempotency key, or leave the key empty for the default; repeat a key only to retry the very same message.',
  });
}

/** Links each new session to the same user's latest session when it ended within the continuation window. */
async function linkContinuations(tx: Queryable, ctx: MemoryContext, created: string[], owners: Map<string, string>): Promise<void> {
  const minutes = ctx.options.continuationWindowMinutes;
  if (created.length === 0 || minutes <= 0) return;
  await tx.query(
    `INSERT INTO ${ctx.schema}.session_relationships (user_id, source_session_id, target_session_id, relationship_type, relationship_strength)
     SELECT c.user_id, prev.session_id, c.session_id, 'continuation',
            greatest(0, 1 - extract(epoch FROM $3::timestamptz - prev.last_activity) / ($4 * 60))
       FROM unnest($1::text[], $2::text[]) c(session_id, user_id)
       CROSS JOIN LATERAL (
         SELECT s.session_id, s.last_activity FROM ${ctx.schema}.conversation_sessions s
          WHERE s.user_id = c.user_id AND s.session_id <> ALL($1::text[])
            AND s.last_activity BETWEEN $3::timestamptz - make_interval(mins => $4) AND $3::timestamptz
          ORDER BY s.last_activity DESC LIMIT 1) prev
     ON CONFLICT DO NOTHING`,
    [created, created.map((id) => owners.get(id)), ctx.options.clock(), minutes],
  );
}

async function storeBatch(tx: Queryable, ctx: MemoryContext, info: SchemaInfo, batch: PreparedMessage[]): Promise<StoredMessage[]> {
  const owners = new Map<string, string>();
  for (const m of batch) {
    if (owners.has(m.sessionId) && owners.get(m.sessionId) !== m.userId) throw atItem(m.itemIndex, forbiddenSession(m.sessionId));
    owners.set(m.sessionId, m.userId);
  }
  const created = await lockSessions(tx, ctx, owners, batch);

  // Retries: a key already stored (or repeated in this batch) returns that message; the sessions are
  // locked, so a concurrent retry waits and then finds it. The same key with another message is a conflict.
  const keyed = batch.filter((m) => m.idempotencyKey !== null);
  const existing = new Map<string, StoredMessage>();
  if (keyed.length > 0) {
    const { rows } = await tx.query<MessageRow>(
      `SELECT ${MESSAGE_COLUMNS} FROM ${ctx.schema}.conversation_messages
        WHERE (session_id, idempotency_key) IN (SELECT * FROM unnest($1::text[], $2::text[]))`,
      [keyed.map((m) => m.sessionId), keyed.map((m) => m.idempotencyKey)],
    );
    for (const row of rows) existing.set(`${row.session_id}\u0000${row.idempotency_key}`, toMessage(row, true));
  }
  const fresh: PreparedMessage[] = [];
  const firstWithKey = new Map<string, number>();
  batch.forEach((m, index) => {
    const key = keyOf(m);
    const stored = key === null ? undefined : existing.get(key);
    const earlier = key === null ? undefined : firstWithKey.get(key);
    if (stored) requireSameMessage(stored, m, index, `message ${stored.messageId}`);
    else if (earlier !== undefined) requireSameMessage(batch[earlier], m, index, `messages[${earlier}] of this batch`);
    else {
      if (key !== null) firstWithKey.set(key, index);
      fresh.push(m);
    }
  });
  await checkParents(tx, ctx, fresh);

  // Reserve gap-free indexes per session while its row is locked.
  const counts = new Map<string, number>();
  for (const m of fresh) counts.set(m.sessionId, (counts.get(m.sessionId) ?? 0) + 1);
  const { rows: reserved } = await tx.query<{ session_id: string; first: number }>(
    `UPDATE ${ctx.schema}.conversation_sessions s SET next_message_index = s.next_message_index + d.n
       FROM unnest($1::text[], $2::int[]) d(session_id, n) WHERE s.session_id = d.session_id
     RETURNING s.session_id, s.next_message_index - d.n AS first`,
    [[...counts.keys()], [...counts.values()]],
  );
  const next = new Map(reserved.map((row) => [row.session_id, row.first]));
  const indexes = fresh.map((m) => {
    const index = next.get(m.sessionId) as number;
    next.set(m.sessionId, index + 1);
    return index;
  });

  const column = <K extends keyof PreparedMessage>(key: K) => fresh.map((m) => m[key]);
  // Without pgvector there is no embedding column (and no vector type to unnest).
  const [embedding, embeddings] = info.hasEmbedding ? [', embedding', `, $13::${info.vectorSchema}.vector[]`] : ['', ''];
  const { rows: inserted } = fresh.length === 0 ? { rows: [] as MessageRow[] } : await tx.query<MessageRow>(
    `INSERT INTO ${ctx.schema}.conversation_messages
       (session_id, user_id, role, content, message_type, parent_message_id, metadata, "timestamp", idempotency_key, content_hash, context_hash, message_index${embedding})
     SELECT s, u, r, c, t, p::bigint, m::jsonb, coalesce(ts, now()), k, ch, xh, i${info.hasEmbedding ? ', e' : ''}
       FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::timestamptz[], $9::text[], $10::text[], $11::text[], $12::int[]${embeddings})
            AS x(s, u, r, c, t, p, m, ts, k, ch, xh, i${info.hasEmbedding ? ', e' : ''})
     RETURNING ${MESSAGE_COLUMNS}`,
    [column('sessionId'), column('userId'), column('role'), column('content'), column('messageType'), column('parentMessageId'), column('metadata'), column('timestamp'), column('idempotencyKey'), column('contentHash'), column('contextHash'), indexes, ...(info.hasEmbedding ? [vectorList(info, fresh)] : [])],
  );
  await linkContinuations(tx, ctx, created, owners);

  const byIndex = new Map(inserted.map((row) => [`${row.session_id}\u0000${row.message_index}`, toMessage(row)]));
  const stored = fresh.map((m, i) => byIndex.get(`${m.sessionId}\u0000${indexes[i]}`) as StoredMessage);
  for (const message of stored) if (message.idempotencyKey !== null) existing.set(keyOf(message) as string, message);
  // Input order; a repeated key inside the batch is a duplicate of its first occurrence.
  let freshAt = 0;
  return batch.map((m) => (fresh[freshAt] === m ? stored[freshAt++] : { ...(existing.get(keyOf(m) as string) as StoredMessage), duplicate: true }));
}

const vectorList = (info: SchemaInfo, messages: PreparedMessage[]) => new VectorListParam(messages.map((m) => m.embedding), info.vectorOid);

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
async function withEmbeddings(ctx: MemoryContext, info: SchemaInfo, batch: PreparedMessage[]): Promise<PreparedMessage[]> {
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
