import type { Queryable } from '../db/database';
import type { MemoryContext } from '../memory/context';
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
