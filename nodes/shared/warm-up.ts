import { loadLocalModel } from '../../src/embeddings';

/** Left to n8n's own startup before the model loads: the load keeps the event loop busy at times. */
export const WARM_UP_DELAY_MS = 3_000;

let scheduled = false;

/**
 * Starts loading the local embedding model in the background, once per process, a little after n8n
 * loads the node, so the first execution does not wait for it. Nothing escapes: a failed load only
 * means the first execution that embeds locally loads it again (and reports the error then). Off
 * under test runners (NODE_ENV=test) and with LTST_WARM_UP=off.
 */
export function warmUpLocalModelInBackground(load: () => Promise<unknown> = loadLocalModel, delayMs = WARM_UP_DELAY_MS): boolean {
  if (scheduled || process.env.LTST_WARM_UP === 'off' || process.env.NODE_ENV === 'test') return false;
  scheduled = true;
  const timer = setTimeout(() => {
    try {
      load().catch(() => undefined);
    } catch {
      // A load that throws before it starts is retried by the first execution.
    }
  }, delayMs);
  // Never what keeps a process (n8n's CLI commands, a task) alive.
  timer.unref();
  return true;
}

/** Whether a warm-up was scheduled in this process. */
export function warmUpScheduled(): boolean {
  return scheduled;
}

/** For tests: lets the next call schedule again. */
export function resetWarmUpForTests(): void {
  scheduled = false;
}
