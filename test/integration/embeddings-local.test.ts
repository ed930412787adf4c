import { openMemory } from '../../src';
import { LtstError } from '../../src/errors';
import { LOCAL_NATIVE_DIMENSIONS, loadLocalModel, localEmbedder } from '../../src/embeddings/local';
import { normalise, orthonormalRows, project, projectionMatrix, seededRandom } from '../../src/embeddings/projection';

/** The real Universal Sentence Encoder lite, loaded from disk (no network). */
const dot = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += a[i] * b[i];
  return sum;
};
const SENTENCES = [
  'I love green tea',
  'Green tea is my favourite drink',
  'The train leaves at noon',
  'My flight to Berlin was delayed by two hours',
  'The plane landed late in Germany',
  'Please remind me to buy milk tomorrow',
  'We need groceries: milk, eggs and bread',
  'The quarterly report is due on Friday',
];

describe('projection', () => {
  test('the seeded PRNG is deterministic and uniform-looking', () => {
    const a = seededRandom(42);
    const b = seededRandom(42);
    const xs = Array.from({ length: 10_000 }, () => a());
    expect(xs.slice(0, 5)).toEqual(Array.from({ length: 5 }, () => b()));
    expect(Math.min(...xs)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...xs)).toBeLessThan(1);
    expect(xs.reduce((s, x) => s + x, 0) / xs.length).toBeCloseTo(0.5, 1);
  });

  test('P P^T = I for 512 -> 384, and the same matrix every time', () => {
    const p = projectionMatrix(512, 384);
    let worst = 0;
    for (let i = 0; i < p.length; i++) {
      for (let j = i; j < p.length; j++) worst = Math.max(worst, Math.abs(dot(p[i], p[j]) - (i === j ? 1 : 0)));
    }
    expect(worst).toBeLessThan(1e-12);
    expect(orthonormalRows(384, 512)[383]).toEqual(p[383]);
  });

  test('more rows than columns is refused', () => {
    expect(() => orthonormalRows(5, 4)).toThrow(RangeError);
  });
});

describe('localEmbedder (USE lite, offline)', () => {
  beforeAll(() => loadLocalModel());

  test('the model is loaded once per process: the second load is the same promise', () => {
    expect(loadLocalModel()).toBe(loadLocalModel());
  });

  test('d = 384: unit vectors of 384 numbers, deterministic across calls, id names the projection', async () => {
    const embedder = localEmbedder(384);
    expect(embedder.id).toBe('local:use-lite-512>384');
    expect(embedder.dimensions).toBe(384);
    const first = await embedder.embed(SENTENCES);
    const again = await localEmbedder(384).embed(SENTENCES);
    expect(first).toHaveLength(SENTENCES.length);
    for (const vector of first) {
      expect(vector).toHaveLength(384);
      expect(Math.hypot(...vector)).toBeCloseTo(1, 6);
    }
    expect(again).toEqual(first);
    // Batch composition does not change a sentence's vector beyond float noise.
    const [single] = await embedder.embed([SENTENCES[3]]);
    single.forEach((x, i) => expect(x).toBeCloseTo(first[3][i], 5));
  });

  test('semantics survive the projection; cosines move only a little', async () => {
    const raw = await localEmbedder(512).embed(SENTENCES);
    const projected = await localEmbedder(384).embed(SENTENCES);
    const [tea, drink, train] = projected;
    expect(dot(tea, drink)).toBeGreaterThan(dot(tea, train) + 0.2);
    let worst = 0;
    for (let i = 0; i < SENTENCES.length; i++) {
      for (let j = i + 1; j < SENTENCES.length; j++) worst = Math.max(worst, Math.abs(dot(raw[i], raw[j]) - dot(projected[i], projected[j])));
    }
    expect(worst).toBeLessThan(0.1);
    for (const pair of [[3, 4], [5, 6]]) {
      // each paraphrase is its partner's nearest neighbour among the others
      const [a, b] = pair;
      const others = projected.map((v, k) => (k === a ? -Infinity : dot(projected[a], v)));
      expect(others.indexOf(Math.max(...others))).toBe(b);
    }
  });

  test('d = 512 uses the raw vectors, normalised', async () => {
    const embedder = localEmbedder(512);
    expect(embedder.id).toBe('local:use-lite-512>512');
    const [vector] = await embedder.embed(['hello world']);
    expect(vector).toHaveLength(512);
    expect(Math.hypot(...vector)).toBeCloseTo(1, 6);
    const [projected] = await localEmbedder(64).embed(['hello world']);
    const expected = normalise(project(projectionMatrix(512, 64), vector));
    projected.forEach((x, i) => expect(x).toBeCloseTo(expected[i], 12));
  });

  test('d > 512 (and nonsense) is refused with INVALID_CONFIG and a hint', () => {
    for (const d of [513, 1536, 0, 1.5]) {
      let error: unknown;
      try {
        localEmbedder(d);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(LtstError);
      expect((error as LtstError).code).toBe('INVALID_CONFIG');
      expect((error as LtstError).hint).toMatch(new RegExp(`at most ${LOCAL_NATIVE_DIMENSIONS}`));
    }
  });

  test('empty input, empty strings and long batches', async () => {
    const embedder = localEmbedder(384);
    expect(await embedder.embed([])).toEqual([]);
    const texts = Array.from({ length: 150 }, (_, i) => (i === 7 ? '' : `note ${i}: the meeting moved to room ${i % 9}`));
    const vectors = await embedder.embed(texts);
    expect(vectors).toHaveLength(150);
    expect(vectors[7]).toHaveLength(384);
  });
});

test('concurrent calls share the model and get the same vectors as sequential ones', async () => {
  const embedder = localEmbedder(384);
  const [a, b] = await Promise.all([embedder.embed(SENTENCES.slice(0, 4)), embedder.embed(SENTENCES.slice(4))]);
  // Exactly equal to the same batches run one after the other (other batch splits differ by ~1e-7).
  expect(a).toEqual(await embedder.embed(SENTENCES.slice(0, 4)));
  expect(b).toEqual(await embedder.embed(SENTENCES.slice(4)));
});

test('missing model files: INVALID_CONFIG with a hint, and the failed load is not cached', async () => {
  jest.spyOn(console, 'error').mockImplementation(() => undefined); // emscripten reports the missing wasm
  jest.spyOn(console, 'warn').mockImplementation(() => undefined);
  try {
    await jest.isolateModulesAsync(async () => {
      jest.doMock('../../src/db/package-root', () => ({ runningFromDist: () => true, packageRoot: () => '/nonexistent-ltst' }));
      const fresh = await import('../../src/embeddings/local');
      const first = fresh.loadLocalModel();
      await expect(first).rejects.toMatchObject({ code: 'INVALID_CONFIG', hint: expect.stringMatching(/nonexistent-ltst.*use-lite/) });
      expect(fresh.localModelLoaded()).toBe(false);
      const second = fresh.loadLocalModel();
      expect(second).not.toBe(first);
      await expect(second).rejects.toBeInstanceOf(Error);
    });
  } finally {
    jest.restoreAllMocks();
  }
});

test('is the default embedder of a store: stored messages and queries are embedded with it', async () => {
  const config = { embedded: { dataDir: 'memory://default-embedder' }, schema: 'ltst_t_default_embedder' };
  const store = openMemory(config);
  await store.migrate();
  await store.storeMessages([
    { userId: 'u', sessionId: 's1', role: 'human', content: 'I love green tea' },
    { userId: 'u', sessionId: 's2', role: 'human', content: 'The train leaves at noon' },
  ]);
  const bundle = await store.retrieveContext({ userId: 'u', query: 'my favourite drink', recentLimit: 0, useCache: false });
  expect(bundle.relevantMessages[0]).toMatchObject({ content: 'I love green tea', scores: { vector: expect.any(Number) } });
  expect(bundle.relevantMessages[0].scores.vector).toBeGreaterThan(bundle.relevantMessages[1].scores.vector as number);
  await store.close();
});
