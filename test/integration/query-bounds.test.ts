import { openMemory } from '../../src';
import { MAX_QUERY_CHARS, MAX_QUERY_TERMS } from '../../src/retrieval/bounds';
import { hashEmbedder } from '../helpers/hash-embedder';
import { ltstErrorOf, onDatabase, testTargets, useFreshSchema } from '../helpers/databases';

/** `count` made-up words the English stemmer keeps apart (consonants only, no s or y): kbbb, kbbc, ... */
function madeUpWords(count: number): string[] {
  const letters = 'bcdfghjklmnpqrtvwxz';
  return Array.from({ length: count }, (_, i) => `k${letters[Math.floor(i / 361) % 19]}${letters[Math.floor(i / 19) % 19]}${letters[i % 19]}`);
}

const onlyRecall = { recentLimit: 0, includePreferences: false, includeContext: false, includeRelatedSessions: false } as const;

describe.each(testTargets(__filename))('query bounds on $name', ({ name, config }) => {
  const store = openMemory({ ...config, embeddings: hashEmbedder() });
  const s = `"${config.schema}"`;
  const words = madeUpWords(5_000);

  useFreshSchema(config);
  beforeAll(async () => {
    // 200 messages of 25 words each: every one of the 5,000 words is in the user's history.
    const messages = Array.from({ length: 200 }, (_, m) => ({ userId: 'paster', sessionId: `paster-${m % 4}`, role: 'human' as const, content: words.slice(m * 25, m * 25 + 25).join(' ') }));
    await store.storeMessages(messages);
  });

  it(`searches at most ${MAX_QUERY_TERMS} terms of a 5,000-word query, cut to ${MAX_QUERY_CHARS} characters`, async () => {
    const query = words.join(' ');
    const bundle = await store.retrieveContext({ userId: 'paster', query, ...onlyRecall, useCache: false });
    expect(bundle.stats.query).toMatchObject({ characters: query.length, truncated: true, termsSearched: MAX_QUERY_TERMS });
    expect(bundle.stats.query.terms).toBeGreaterThan(1_000);
    expect(bundle.query).toBe(query.slice(0, bundle.query?.length));
    expect(bundle.query!.length).toBeLessThanOrEqual(MAX_QUERY_CHARS);
    expect(bundle.query!.endsWith(' ')).toBe(false);
    expect(bundle.stats.candidates.text).toBeGreaterThan(0);
    expect(bundle.relevantMessages.length).toBeGreaterThan(0);
  });

  it('searches every term of a normal question', async () => {
    const bundle = await store.retrieveContext({ userId: 'paster', query: `what about ${words[3]} and ${words[4_000]}?`, ...onlyRecall, useCache: false });
    expect(bundle.stats.query).toEqual({ characters: expect.any(Number), truncated: false, terms: 2, termsSearched: 2 });
    expect(bundle.relevantMessages[0].content).toMatch(new RegExp(`${words[3]}|${words[4_000]}`));
  });

  it("cuts a pasted document that arrives as the session's latest human message (the default query)", async () => {
    const pasted = words.slice(0, 4_000).join(' ');
    await store.storeMessages([{ userId: 'paster', sessionId: 'paste-now', role: 'human', content: pasted }]);
    const bundle = await store.retrieveContext({ userId: 'paster', sessionId: 'paste-now', ...onlyRecall, useCache: true });
    expect(bundle.query).toBe(pasted.slice(0, bundle.query?.length));
    expect(bundle.query!.length).toBeLessThanOrEqual(MAX_QUERY_CHARS);
    expect(bundle.stats.query).toMatchObject({ characters: pasted.length, truncated: true, termsSearched: MAX_QUERY_TERMS });
    const [cached] = await onDatabase(config, async (db) => (await db.query<{ query: string }>(`SELECT retrieved_context->>'query' AS query FROM ${s}.memory_retrieval_cache WHERE user_id = 'paster'`)).rows);
    expect(cached.query).toBe(bundle.query);
  });

  it('serves a request that differs only in timeoutMs from the cache', async () => {
    const request = { userId: 'paster', query: `remember ${words[7]}`, ...onlyRecall, useCache: true };
    expect((await store.retrieveContext({ ...request, timeoutMs: 5_000 })).stats.cacheHit).toBe(false);
    expect((await store.retrieveContext({ ...request, timeoutMs: 20_000 })).stats.cacheHit).toBe(true);
  });

  it.each([
    ['a number', 42],
    ['an object', { text: 'Lisbon' }],
    ['a list', ['Lisbon']],
    ['true', true],
  ])('refuses %s as the query with INVALID_INPUT on field query', async (_label, query) => {
    const error = await ltstErrorOf(store.retrieveContext({ userId: 'paster', query: query as unknown as string }));
    expect(error).toMatchObject({ code: 'INVALID_INPUT', field: 'query' });
    expect(error.hint).toMatch(/text/);
  });

  it.each([0, 1.5, '100', 600_001])('refuses timeoutMs %p', async (timeoutMs) => {
    const error = await ltstErrorOf(store.retrieveContext({ userId: 'paster', query: 'x', timeoutMs: timeoutMs as number }));
    expect(error).toMatchObject({ code: 'INVALID_INPUT', field: 'timeoutMs' });
  });

  if (name === 'postgres') {
    it('stops a retrieval past its statement timeout with QUERY_FAILED 57014, and the timeout ends with it', async () => {
      const many = Array.from({ length: 1_500 }, (_, m) => ({ userId: 'big', sessionId: `big-${m % 10}`, role: 'human' as const, content: words.slice((m * 7) % 4_900, ((m * 7) % 4_900) + 40).join(' ') }));
      for (let i = 0; i < many.length; i += 500) await store.storeMessages(many.slice(i, i + 500));
      const query = words.slice(0, 500).join(' ');
      const timeoutSetting = () => onDatabase(config, async (db) => (await db.query<{ statement_timeout: string }>('SHOW statement_timeout')).rows[0].statement_timeout);
      const before = await timeoutSetting();
      const error = await ltstErrorOf(store.retrieveContext({ userId: 'big', query, ...onlyRecall, timeoutMs: 1 }));
      expect(error).toMatchObject({ code: 'QUERY_FAILED', sqlState: '57014' });
      expect(error.hint).toMatch(/timeoutMs/);
      // Rolled back: nothing cached; the setting was local to that transaction.
      const rows = await onDatabase(config, async (db) => (await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${s}.memory_retrieval_cache WHERE user_id = 'big'`)).rows);
      expect(rows[0].n).toBe(0);
      const after = await Promise.all(Array.from({ length: 4 }, timeoutSetting));
      expect(new Set(after)).toEqual(new Set([before]));
      const bundle = await store.retrieveContext({ userId: 'big', query, ...onlyRecall });
      expect(bundle.relevantMessages.length).toBeGreaterThan(0);
    });
  } else {
    it('accepts a statement timeout that PGlite cannot enforce (documented in the README)', async () => {
      const bundle = await store.retrieveContext({ userId: 'paster', query: words.slice(0, 500).join(' '), ...onlyRecall, useCache: false, timeoutMs: 1 });
      expect(bundle.relevantMessages.length).toBeGreaterThan(0);
    });
  }
});
