import { NodeOperationError, type IDataObject, type IExecuteFunctions, type INode, type INodeExecutionData } from 'n8n-workflow';
import { toNodeError } from './node-errors';

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
      if (!ctx.continueOnFail()) throw toNodeError(ctx.getNode(), error, item);
      results.push({ json: { error: (error as Error).message }, pairedItem: { item } });
    }
  }
  return [results];
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
