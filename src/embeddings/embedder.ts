/**
 * An embedding provider: turns texts into vectors of `dimensions` numbers, in input order.
 * Providers are loaded once per process and shared; `embed` batches internally.
 */
export interface Embedder {
  /** Stable name for reports and cache keys, e.g. `local:use-lite-512>384` or `openai:text-embedding-3-small`. */
  readonly id: string;
  readonly dimensions: number;
  embed(texts: string[]): Promise<number[][]>;
  /** A search query's vector, for models that embed queries differently from documents; default `embed`. */
  embedQuery?(text: string): Promise<number[]>;
}
