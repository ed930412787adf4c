import { NodeOperationError, type IDataObject, type IExecuteFunctions, type INode, type INodeExecutionData } from 'n8n-workflow';
import { LtstError } from '../../src';
import { errorJson, toNodeError } from './node-errors';

/** A failed item: a NodeOperationError for it, or with Continue On Fail its error item. */
export function failedItem(ctx: IExecuteFunctions, error: unknown, item: number): INodeExecutionData {
  if (!ctx.continueOnFail()) throw toNodeError(ctx.getNode(), error, item);
  return { json: errorJson(error), pairedItem: { item } };
}

/**
 * Runs `work` for every input item and returns one output item each, paired with its input; a
 * failure is a NodeOperationError for that item, or with Continue On Fail an error item.
 */
export async function runPerItem(ctx: IExecuteFunctions, work: (item: number) => Promise<unknown>): Promise<INodeExecutionData[][]> {
  const results: INodeExecutionData[] = [];
  const items = ctx.getInputData();
  for (let item = 0; item < items.length; item += 1) {
    try {
      const result = await work(item);
      const json = (typeof result === 'object' && result !== null && !Array.isArray(result) ? result : { result }) as IDataObject;
      results.push({ json, pairedItem: { item } });
    } catch (error) {
      results.push(failedItem(ctx, error, item));
    }
  }
  return [results];
}

/**
 * Sends the inputs of several items to the core in one batch call, and puts each result at its
 * item in `results`. An error naming one input of the batch (LtstError.itemIndex) is that item's
 * alone: a NodeOperationError for it, or with Continue On Fail its error item and the batch sent
 * again without it. An error of no particular input (the database is down) fails every item left.
 */
export async function runBatch<T>(
  ctx: IExecuteFunctions,
  results: INodeExecutionData[],
  pending: Array<{ item: number; input: T }>,
  call: (inputs: T[]) => Promise<object[]>,
): Promise<void> {
  while (pending.length > 0) {
    try {
      const outputs = await call(pending.map((p) => p.input));
      outputs.forEach((output, k) => (results[pending[k].item] = { json: { ...output } as IDataObject, pairedItem: { item: pending[k].item } }));
      return;
    } catch (error) {
      const k = error instanceof LtstError ? error.itemIndex : undefined;
      if (k !== undefined && k >= 0 && k < pending.length) {
        const [bad] = pending.splice(k, 1);
        results[bad.item] = failedItem(ctx, error, bad.item);
        continue;
      }
      if (!ctx.continueOnFail()) throw toNodeError(ctx.getNode(), error);
      for (const p of pending.splice(0)) results[p.item] = failedItem(ctx, error, p.item);
    }
  }
}

/** A JSON parameter as an object: n8n hands JSON fields over as text or already parsed. */
export function jsonParameter(node: INode, value: unknown, field: string, itemIndex: number): IDataObject {
  if (typeof value !== 'string') return (value ?? {}) as IDataObject;
  try {
    return JSON.parse(value || '{}') as IDataObject;
  } catch (error) {
    throw new NodeOperationError(node, `${field} is not valid JSON: ${(error as Error).message}`, {
      itemIndex,
      description: `Write ${field} as a JSON object such as {"key": "value"}.`,
    });
  }
}
