import type { IExecuteFunctions } from 'n8n-workflow';

/** Execution custom data that keeps the id of the first execution of a retry chain. */
const FIRST_EXECUTION = 'ltst_first_execution';

/**
 * The execution whose retry this is, else this one. n8n's retry (Executions > Retry, or
 * POST /rest/executions/:id/retry) is a new execution with a new id that resumes the failed one's
 * data, its custom data included; so the id kept here on the first run survives every retry.
 */
function firstExecutionId(ctx: IExecuteFunctions): string {
  const id = ctx.getExecutionId();
  try {
    const kept = ctx.customData.get(FIRST_EXECUTION);
    if (kept) return kept;
    ctx.customData.set(FIRST_EXECUTION, id); // n8n keeps at most 10 keys: when full, nothing is kept
  } catch {
    // No execution data to keep it in: this execution's id.
  }
  return id;
}

/**
 * The default idempotency key of each item: `<first execution>:<node id>:<run index>:<item>`.
 * - The run index (n8n's `$runIndex`) tells apart every run of the node in one execution: each pass
 *   of a loop and each call by an AI agent is item 0 of a new run.
 * - It repeats when n8n runs the same item again: Retry On Fail runs the node again with the same
 *   run index, and a retried execution re-runs only the node that failed, with the same run index
 *   and items (nodes that succeeded keep their output and do not run), under the first execution's id.
 */
export function defaultIdempotencyKeys(ctx: IExecuteFunctions): (item: number) => string {
  const prefix = `${firstExecutionId(ctx)}:${ctx.getNode().id}:${Number(ctx.getWorkflowDataProxy(0).$runIndex ?? 0)}`;
  return (item) => `${prefix}:${item}`;
}
