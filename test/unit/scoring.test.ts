import { blendScore, bm25, bm25Idf, estimateTokens, reciprocalRankFusion, recencyDecay, RRF_K } from '../../src/retrieval/scoring';

describe('reciprocal rank fusion', () => {
  it('adds weight / (k + rank) per list and normalises by the best possible score', () => {
    const fused = reciprocalRankFusion([{ ids: ['a', 'b', 'c'], weight: 1 }, { ids: ['b', 'd'], weight: 1 }]);
    const best = 2 / (RRF_K + 1);
    expect(fused.get('b')).toBeCloseTo((1 / (RRF_K + 2) + 1 / (RRF_K + 1)) / best, 12);
    expect(fused.get('a')).toBeCloseTo(1 / (RRF_K + 1) / best, 12);
    expect(fused.get('d')).toBeCloseTo(1 / (RRF_K + 2) / best, 12);
    expect([...fused.entries()].sort((x, y) => y[1] - x[1])[0][0]).toBe('b');
  });

  it('gives 1 to an id first in every list, and ignores empty lists in the normalisation', () => {
    expect(reciprocalRankFusion([{ ids: ['a'], weight: 2 }, { ids: ['a'], weight: 1 }]).get('a')).toBeCloseTo(1, 12);
    expect(reciprocalRankFusion([{ ids: ['a'], weight: 1 }, { ids: [], weight: 1 }]).get('a')).toBeCloseTo(1, 12);
    expect(reciprocalRankFusion([]).size).toBe(0);
  });
});

describe('recency and blending', () => {
  it('halves per half-life and treats the future as now', () => {
    expect(recencyDecay(0, 1000)).toBe(1);
    expect(recencyDecay(1000, 1000)).toBeCloseTo(0.5, 12);
    expect(recencyDecay(3000, 1000)).toBeCloseTo(0.125, 12);
    expect(recencyDecay(-5000, 1000)).toBe(1);
    expect(recencyDecay(5000, 0)).toBe(1);
  });

  it('blends fused evidence with small recency and relevance shares, within [0, 1]', () => {
    expect(blendScore({ fused: 1, recency: 1, relevance: 1 })).toBeCloseTo(1, 12);
    expect(blendScore({ fused: 0, recency: 0, relevance: 0 })).toBe(0);
    expect(blendScore({ fused: 0.5, recency: 1, relevance: 0 })).toBeCloseTo(0.85 * 0.5 + 0.1, 12);
    expect(blendScore({ fused: 1, recency: 0, relevance: 0 }, { recency: 0.5, relevance: 0 })).toBeCloseTo(0.5, 12);
  });
});

describe('BM25', () => {
  it('weights rare terms more and saturates term frequency', () => {
    expect(bm25Idf(100, 1)).toBeGreaterThan(bm25Idf(100, 50));
    expect(bm25Idf(100, 100)).toBeGreaterThan(0);
    const idf = new Map([['tea', 2], ['the', 0.1]]);
    const once = bm25(new Map([['tea', 1]]), idf, 10, 10);
    const twice = bm25(new Map([['tea', 2]]), idf, 10, 10);
    expect(once).toBeCloseTo((2 * 1 * 2.2) / (1 + 1.2), 12);
    expect(twice).toBeGreaterThan(once);
    expect(twice).toBeLessThan(2 * once);
    expect(bm25(new Map([['tea', 1]]), idf, 40, 10)).toBeLessThan(once);
  });
});

describe('tokens', () => {
  it('estimates 4 characters per token', () => {
    expect(estimateTokens('')).toBe(0);
    expect(estimateTokens('abcd')).toBe(1);
    expect(estimateTokens('abcde')).toBe(2);
  });
});
