// The general path of a message batch: any sessions (created on first use), parents and retries, in
// one transaction; storeMessages returns the stored rows, importMessages only counts them.
import type { Queryable } from '../db/database';
import { VectorListParam } from '../db/vectors';
import { invalidInput, LtstError } from '../errors';
import type { MemoryContext } from './context';
import { atItem, type PreparedMessage, type Role } from './message-input';
import { MESSAGE_COLUMNS, toMessage, type MessageRow, type StoredMessage } from './message-rows';
import { forbiddenSession, sessionExists } from './ownership';
import type { SchemaInfo } from './schema-info';

const keyOf = (m: { sessionId: string; idempotencyKey: string | null }) => (m.idempotencyKey === null ? null : `${m.sessionId}\u0000${m.idempotencyKey}`);

/**
 * Creates missing sessions, then locks every session of the batch in id order (no deadlocks) and
 * checks its owner. FOR NO KEY UPDATE, as ltst_append_messages (migration 0014): it serializes the
 * batches of a session and leaves foreign-key checks on it (a link to the session) unblocked.
 */
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
    `SELECT session_id, user_id FROM ${ctx.schema}.conversation_sessions WHERE session_id = ANY($1) ORDER BY session_id FOR NO KEY UPDATE`,
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
function requireSameMessage(earlier: { role: Role; contentHash: string }, m: PreparedMessage, earlierIs: string): void {
  if (earlier.role === m.role && earlier.contentHash === m.contentHash) return;
  const field = `messages[${m.itemIndex}].idempotencyKey`;
  const differs = earlier.role !== m.role ? `role ${earlier.role}, not ${m.role}` : 'other content';
  throw new LtstError('IDEMPOTENCY_CONFLICT', `${field} "${m.idempotencyKey}" was already used in session "${m.sessionId}" for ${earlierIs} with ${differs}`, {
    field,
    itemIndex: m.itemIndex,
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

/** What a batch writes: its messages new to the store (in input order), each with its reserved index. */
interface BatchPlan {
  fresh: PreparedMessage[];
  indexes: number[];
  /** Stored messages of the batch's keys (retries), by session and key. */
  existing: Map<string, StoredMessage>;
  /** Sessions this batch created, and each session's owner. */
  created: string[];
  owners: Map<string, string>;
}

/**
 * Locks the batch's sessions, sets retries apart and reserves gap-free indexes. Retries: a key
 * already stored (or repeated in this batch) returns that message; the sessions are locked, so a
 * concurrent retry waits and then finds it. The same key with another message is a conflict.
 */
async function planBatch(tx: Queryable, ctx: MemoryContext, batch: PreparedMessage[]): Promise<BatchPlan> {
  const owners = new Map<string, string>();
  for (const m of batch) {
    if (owners.has(m.sessionId) && owners.get(m.sessionId) !== m.userId) throw atItem(m.itemIndex, forbiddenSession(m.sessionId));
    owners.set(m.sessionId, m.userId);
  }
  const created = await lockSessions(tx, ctx, owners, batch);

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
  const firstWithKey = new Map<string, PreparedMessage>();
  for (const m of batch) {
    const key = keyOf(m);
    const stored = key === null ? undefined : existing.get(key);
    const earlier = key === null ? undefined : firstWithKey.get(key);
    if (stored) requireSameMessage(stored, m, `message ${stored.messageId}`);
    else if (earlier !== undefined) requireSameMessage(earlier, m, `messages[${earlier.itemIndex}] of this batch`);
    else {
      if (key !== null) firstWithKey.set(key, m);
      fresh.push(m);
    }
  }
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
  return { fresh, indexes, existing, created, owners };
}

/** Inserts the plan's fresh messages, `returning` their rows or nothing (a bulk import needs only the count), and links new sessions. */
async function writePlan(tx: Queryable, ctx: MemoryContext, info: SchemaInfo, { fresh, indexes, created, owners }: BatchPlan, returning: boolean): Promise<MessageRow[]> {
  const column = <K extends keyof PreparedMessage>(key: K) => fresh.map((m) => m[key]);
  // Without pgvector there is no embedding column (and no vector type to unnest).
  const [embedding, embeddings, e] = info.hasEmbedding ? [', embedding', `, $13::${info.vectorSchema}.vector[]`, ', e'] : ['', '', ''];
  const { rows } = fresh.length === 0 ? { rows: [] } : await tx.query<MessageRow>(
    `INSERT INTO ${ctx.schema}.conversation_messages
       (session_id, user_id, role, content, message_type, parent_message_id, metadata, "timestamp", idempotency_key, content_hash, context_hash, message_index${embedding})
     SELECT s, u, r, c, t, p::bigint, m::jsonb, coalesce(ts, now()), k, ch, xh, i${e}
       FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::timestamptz[], $9::text[], $10::text[], $11::text[], $12::int[]${embeddings})
            AS x(s, u, r, c, t, p, m, ts, k, ch, xh, i${e})
     ${returning ? `RETURNING ${MESSAGE_COLUMNS}` : ''}`,
    [column('sessionId'), column('userId'), column('role'), column('content'), column('messageType'), column('parentMessageId'), column('metadata'), column('timestamp'), column('idempotencyKey'), column('contentHash'), column('contextHash'), indexes, ...(info.hasEmbedding ? [vectorList(info, fresh)] : [])],
  );
  await linkContinuations(tx, ctx, created, owners);
  return rows;
}

export async function storeBatch(tx: Queryable, ctx: MemoryContext, info: SchemaInfo, batch: PreparedMessage[]): Promise<StoredMessage[]> {
  const plan = await planBatch(tx, ctx, batch);
  const inserted = await writePlan(tx, ctx, info, plan, true);
  const { fresh, indexes, existing } = plan;
  const byIndex = new Map(inserted.map((row) => [`${row.session_id}\u0000${row.message_index}`, toMessage(row)]));
  const stored = fresh.map((m, i) => byIndex.get(`${m.sessionId}\u0000${indexes[i]}`) as StoredMessage);
  for (const message of stored) if (message.idempotencyKey !== null) existing.set(keyOf(message) as string, message);
  // Input order; a repeated key inside the batch is a duplicate of its first occurrence.
  let freshAt = 0;
  return batch.map((m) => (fresh[freshAt] === m ? stored[freshAt++] : { ...(existing.get(keyOf(m) as string) as StoredMessage), duplicate: true }));
}

/**
 * One batch of a bulk import, with every guarantee of storeMessages; only the count comes back.
 * `itemIndex` of each message is its place in the whole import, which errors name.
 */
export async function importBatch(tx: Queryable, ctx: MemoryContext, info: SchemaInfo, batch: PreparedMessage[]): Promise<{ written: number; duplicates: number }> {
  const plan = await planBatch(tx, ctx, batch);
  await writePlan(tx, ctx, info, plan, false);
  return { written: plan.fresh.length, duplicates: batch.length - plan.fresh.length };
}

export const vectorList = (info: SchemaInfo, messages: PreparedMessage[]) => new VectorListParam(messages.map((m) => m.embedding), info.vectorOid);
