import { NodeOperationError, type INode } from 'n8n-workflow';
import { LtstError } from '../../src';

/**
 * An error of one item as n8n shows it: the core's message, and as description what to do about it
 * (the LtstError hint, or PostgreSQL's own detail and hint) with the SQLSTATE.
 */
export function toNodeError(node: INode, error: unknown, itemIndex: number): NodeOperationError {
  if (error instanceof NodeOperationError) return error;
  const cause = error instanceof Error ? error : new Error(String(error));
  const pg = error as { detail?: string; hint?: string; code?: string };
  const advice = error instanceof LtstError ? error.hint : [pg.detail, pg.hint].filter(Boolean).join(' ');
  const code = error instanceof LtstError ? error.sqlState : pg.code;
  const description = [advice, code ? `(code ${code})` : ''].filter(Boolean).join(' ');
  return new NodeOperationError(node, cause, { itemIndex, description: description || undefined });
}
