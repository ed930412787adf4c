import type { Queryable } from '../db/database';
import type { LtstError } from '../errors';
import type { MemoryContext } from '../memory/context';
import { sourceTable } from '../memory/import-sources';
import { MESSAGE_COLUMNS, toMessage, type MessageRow, type StoredMessage } from '../memory/messages';

/** The turns around each found message, from the same session and user, in order. */
export async function neighbouringTurns(
  tx: Queryable,
  ctx: MemoryContext,
  userId: string,
  found: Array<{ messageId: number; sessionId: string; messageIndex: number }>,
  width: number,
): Promise<Map<number, StoredMessage[]>> {
  const around = new Map<number, StoredMessage[]>(found.map((m) => [m.messageId, []]));
  if (width === 0 || found.length === 0) return around;
  const { rows } = await tx.query<MessageRow & { anchor: string }>(
    `SELECT x.anchor::text AS anchor, ${MESSAGE_COLUMNS.replace(/\s+/g, ' ').split(', ').map((column) => `m.${column}`).join(', ')}
       FROM unnest($1::bigint[], $2::text[], $3::int[]) AS x(anchor, session_id, message_index)
       JOIN ${ctx.schema}.conversation_messages m
         ON m.session_id = x.session_id AND m.message_index BETWEEN x.message_index - $4 AND x.message_index + $4 AND m.message_index <> x.message_index
      WHERE m.user_id = $5
      ORDER BY x.anchor, m.message_index`,
    [found.map((m) => m.messageId), found.map((m) => m.sessionId), found.map((m) => m.messageIndex), width, userId],
  );
  for (const row of rows) around.get(Number(row.anchor))?.push(toMessage(row));
  return around;
}

export interface DocumentChunk {
  content: string;
  metadata: Record<string, unknown>;
  similarity: number;
}

/**
 * Nearest chunks of an existing document table (the seed's document_chunks: content, embedding
 * vector(d), metadata). Documents are shared knowledge, not any user's memory. A missing table
 * or one without an embedding column gives no documents, and a warning.
 */
export async function documentChunks(tx: Queryable, ctx: MemoryContext, vectorSchema: string, table: string, embedding: number[] | undefined, limit: number): Promise<DocumentChunk[]> {
  if (!embedding) return [];
  const { quoted, columns } = await sourceTable(tx, table).catch((error: unknown) => {
    if ((error as LtstError).code === 'NOT_FOUND') return { quoted: '', columns: new Set<string>() };
    throw error;
  });
  if (!columns.has('content') || !columns.has('embedding')) {
    ctx.options.onWarning(`Documents were asked for, but ${table} does not exist or has no content and embedding columns.`);
    return [];
  }
  const { rows } = await tx.query<{ content: string; metadata: Record<string, unknown> | null; distance: number }>(
    `SELECT content, ${columns.has('metadata') ? 'metadata' : 'NULL::jsonb AS metadata'}, embedding OPERATOR(${vectorSchema}.<=>) $1::${vectorSchema}.vector AS distance
       FROM ${quoted} WHERE embedding IS NOT NULL
      ORDER BY embedding OPERATOR(${vectorSchema}.<=>) $1::${vectorSchema}.vector LIMIT $2`,
    [`[${embedding.join(',')}]`, limit],
  );
  return rows.map((row) => ({ content: row.content, metadata: row.metadata ?? {}, similarity: 1 - Number(row.distance) }));
}
