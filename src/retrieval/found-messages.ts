import { binder, type Queryable } from '../db/database';
import type { MemoryContext } from '../memory/context';
import { MESSAGE_COLUMNS, toMessage, type MessageRow, type StoredMessage } from '../memory/messages';

const QUALIFIED_COLUMNS = MESSAGE_COLUMNS.replace(/\s+/g, ' ')
  .split(', ')
  .map((column) => `m.${column}`)
  .join(', ');

/** A ranked message as stored, with the turns around it in its session (oldest first) when asked for. */
export interface FoundMessage {
  message: StoredMessage;
  neighbors: StoredMessage[];
}

/**
 * The ranked messages of the user, read once ranked (ranking needs only ids and scores), and with
 * `width` > 0 the turns on each side of each from the same session, in one statement.
 */
export async function foundMessages(tx: Queryable, ctx: MemoryContext, userId: string, ids: number[], width: number): Promise<Map<number, FoundMessage>> {
  const found = new Map<number, FoundMessage>();
  if (ids.length === 0) return found;
  const values: unknown[] = [];
  const bind = binder(values);
  const [user, ranked] = [bind(userId), bind(ids)];
  let neighbours = '';
  if (width > 0) {
    const w = bind(width);
    neighbours = `UNION ALL
     SELECT x.message_id::text, ${QUALIFIED_COLUMNS}
       FROM found x JOIN ${ctx.schema}.conversation_messages m
         ON m.session_id = x.session_id AND m.message_index BETWEEN x.message_index - ${w} AND x.message_index + ${w} AND m.message_index <> x.message_index
      WHERE m.user_id = ${user}`;
  }
  const { rows } = await tx.query<MessageRow & { anchor: string | null }>(
    `WITH found AS (SELECT * FROM ${ctx.schema}.conversation_messages m WHERE m.user_id = ${user} AND m.message_id = ANY(${ranked}::bigint[]))
     SELECT NULL::text AS anchor, ${QUALIFIED_COLUMNS} FROM found m
     ${neighbours}
     ORDER BY anchor NULLS FIRST, message_index`,
    values,
    { prepare: true },
  );
  for (const row of rows) {
    if (row.anchor === null) found.set(Number(row.message_id), { message: toMessage(row), neighbors: [] });
    else found.get(Number(row.anchor))?.neighbors.push(toMessage(row));
  }
  return found;
}
