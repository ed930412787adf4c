import { NodeOperationError, type IDataObject, type INode } from 'n8n-workflow';
import { LtstError, redactSecrets, redactedError } from '../../src';

/**
 * What n8n shows of a core error for one item. The core names a batch input `messages[3].content`;
 * n8n names the item itself (the error's item index), so that batch place is left out.
 */
function itemView(error: unknown): { message: string; code?: string; field?: string } {
  // Any error, not only the core's (a driver's, an SDK's), may quote a credential: masked here.
  const message = redactSecrets(error instanceof Error ? error.message : String(error));
  if (!(error instanceof LtstError)) return { message };
  const place = error.itemIndex === undefined ? '' : `messages[${error.itemIndex}].`;
  const strip = (text: string) => (place && text.includes(place) ? text.replace(place, '') : text);
  return { message: strip(message), code: error.code, field: error.field === undefined ? undefined : strip(error.field) };
}

/**
 * An error of one item as n8n shows it: the core's message, and as description what to do about it
 * (the LtstError hint, or PostgreSQL's own detail and hint) with the SQLSTATE, secrets masked.
 * Without an item index it is an error of the whole node run (the database is down).
 */
export function toNodeError(node: INode, error: unknown, itemIndex?: number): NodeOperationError {
  if (error instanceof NodeOperationError) return error;
  // n8n keeps the cause's message with the execution: a masked copy unless the core already masked it.
  const cause = error instanceof LtstError ? error : redactedError(error);
  const pg = error as { detail?: string; hint?: string; code?: string };
  const advice = error instanceof LtstError ? error.hint : [pg.detail, pg.hint].filter(Boolean).join(' ');
  const code = error instanceof LtstError ? error.sqlState : pg.code;
  const description = redactSecrets([advice, code ? `(code ${code})` : ''].filter(Boolean).join(' '));
  return new NodeOperationError(node, cause, { itemIndex, message: itemView(error).message, description: description || undefined });
}

/** The output item of a failed item under Continue On Fail: the message, and the core's code and field. */
export function errorJson(error: unknown): IDataObject {
  const { message, code, field } = itemView(error);
  return { error: message, ...(code ? { code } : {}), ...(field ? { field } : {}) };
}
