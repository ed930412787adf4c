/** Waits and budgets for retrying database work. */

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * The wait before retry number `attempt` (0 for the first): doubling from `baseMs` up to `capMs`,
 * half of it random, so callers that failed together do not retry together.
 */
export function backoffMs(attempt: number, baseMs: number, capMs: number): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** attempt);
  return ceiling / 2 + (Math.random() * ceiling) / 2;
}

/**
 * Runs `attempt` until it succeeds, fails in a way `mayRetry` refuses, or the next wait would end
 * past `budgetMs` from the start: then the last error is thrown.
 */
export async function retryWithin<T>(attempt: () => Promise<T>, mayRetry: (error: unknown) => boolean, budgetMs: number): Promise<T> {
  const started = Date.now();
  for (let tries = 0; ; tries++) {
    try {
      return await attempt();
    } catch (error) {
      const wait = backoffMs(tries, 100, 1_000);
      if (!mayRetry(error) || Date.now() - started + wait > budgetMs) throw error;
      await sleep(wait);
    }
  }
}
