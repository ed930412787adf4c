/**
 * Pure scoring for long-term recall: rank fusion, recency decay and the final blend. No I/O, so
 * every formula here is unit-tested on its own.
 */

/** Reciprocal rank fusion constant (Cormack et al. 2009): damps the weight of the very first ranks. */
export const RRF_K = 60;

export interface RankedList {
  /** Candidate ids, best first. */
  ids: string[];
  weight: number;
}

/**
 * Reciprocal rank fusion: each list adds weight / (k + rank) for every id it ranks (rank from 1).
 * The result is normalised to [0, 1] by the best score any id could reach (first in every list).
 */
export function reciprocalRankFusion(lists: RankedList[], k = RRF_K): Map<string, number> {
  const fused = new Map<string, number>();
  for (const { ids, weight } of lists) {
    ids.forEach((id, index) => fused.set(id, (fused.get(id) ?? 0) + weight / (k + index + 1)));
  }
  const best = lists.reduce((sum, list) => sum + (list.ids.length > 0 ? list.weight / (k + 1) : 0), 0);
  if (best > 0) for (const [id, score] of fused) fused.set(id, score / best);
  return fused;
}

/** Exponential decay: 1 for now, 0.5 after one half-life; future timestamps count as now. */
export function recencyDecay(ageMs: number, halfLifeMs: number): number {
  if (!(halfLifeMs > 0)) return 1;
  return Math.pow(0.5, Math.max(0, ageMs) / halfLifeMs);
}

export interface BlendWeights {
  /** Share of the final score given to recency (default 0.1). */
  recency: number;
  /** Share given to the stored relevance_score (default 0.05). */
  relevance: number;
}

export const DEFAULT_BLEND: BlendWeights = { recency: 0.1, relevance: 0.05 };

/** The final score in [0, 1]: fused evidence, plus small shares for recency and stored relevance. */
export function blendScore(parts: { fused: number; recency: number; relevance: number }, weights: BlendWeights = DEFAULT_BLEND): number {
  const evidence = 1 - weights.recency - weights.relevance;
  return evidence * parts.fused + weights.recency * parts.recency + weights.relevance * parts.relevance;
}

/** BM25 term weight with the usual floor so very common terms never count negatively. */
export function bm25Idf(documentCount: number, documentFrequency: number): number {
  return Math.log(1 + (documentCount - documentFrequency + 0.5) / (documentFrequency + 0.5));
}

/**
 * Okapi BM25 of one document: `terms` maps each query term to its frequency in the document.
 * k1 1.2 and b 0.75, the customary values.
 */
export function bm25(terms: Map<string, number>, idf: Map<string, number>, length: number, averageLength: number, k1 = 1.2, b = 0.75): number {
  let score = 0;
  for (const [term, tf] of terms) {
    const weight = idf.get(term) ?? 0;
    score += (weight * tf * (k1 + 1)) / (tf + k1 * (1 - b + (b * length) / Math.max(averageLength, 1)));
  }
  return score;
}

/** Tokens of a text, by the common estimate of 4 characters per token for English (no tokenizer). */
export function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}
