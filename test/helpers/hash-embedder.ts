import { createHash } from 'node:crypto';
import type { Embedder } from '../../src/embeddings/embedder';

/**
 * A deterministic bag-of-words embedder for tests of the retrieval SQL: texts sharing words get
 * similar vectors. Real vectors go through real pgvector; only the model is replaced.
 */
export function hashEmbedder(dimensions = 384): Embedder & { calls: number } {
  const embedder = {
    id: `test:hash-${dimensions}`,
    dimensions,
    calls: 0,
    async embed(texts: string[]): Promise<number[][]> {
      embedder.calls += 1;
      return texts.map((text) => {
        const vector = new Array<number>(dimensions).fill(0);
        for (const word of text.toLowerCase().match(/[a-z0-9]+/g) ?? []) {
          const hash = createHash('sha256').update(word).digest();
          vector[hash.readUInt16BE(0) % dimensions] += hash[2] & 1 ? 1 : -1;
        }
        const norm = Math.hypot(...vector) || 1;
        return vector.map((x) => x / norm);
      });
    },
  };
  return embedder;
}
