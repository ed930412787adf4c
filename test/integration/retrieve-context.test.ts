import { openMemory } from '../../src';
import { flushAllBuffers } from '../../src/memory/buffered-writer';
import { hashEmbedder } from '../helpers/hash-embedder';
import { ltstErrorOf, onDatabase, serverUrl, testTargets, useFreshSchema } from '../helpers/databases';
import { statementsSentDuring } from '../helpers/sent-statements';

describe.each(testTargets(__filename))('retrieveContext on $name', ({ config }) => {
  let now = new Date('2026-06-01T12:00:00Z');
  const embedder = hashEmbedder();
  const store = openMemory({ ...config, embeddings: embedder, memory: { clock: () => now } });
  const s = `"${config.schema}"`;
  const sql = <T>(text: string, values: unknown[] = []) => onDatabase(config, async (db) => (await db.query<T>(text, values)).rows);

  useFreshSchema(config);
  beforeAll(async () => {
    // Two users whose memories share words and meanings: isolation must hold anyway.
    for (const user of ['ana', 'ben']) {
      await store.storeMessages([
        { userId: user, sessionId: `${user}-trip`, role: 'human', content: 'I am planning a trip to Lisbon in May', timestamp: '2026-01-10T10:00:00Z' },
        { userId: user, sessionId: `${user}-trip`, role: 'ai', content: 'Lisbon in May is warm; pack light clothes', timestamp: '2026-01-10T10:01:00Z' },
        { userId: user, sessionId: `${user}-pets`, role: 'human', content: 'My cat Tom hates travelling', timestamp: '2026-02-01T09:00:00Z' },
      ]);
    }
    await store.storeMessages([
      { userId: 'ana', sessionId: 'ana-now', role: 'human', content: 'what should I pack for Lisbon?' },
      { userId: 'ana', sessionId: 'ana-now', role: 'ai', content: 'sure' },
      { userId: 'ana', sessionId: 'ana-now', role: 'human', content: 'and for the cat?' },
    ]);
    await store.upsertPreference({ userId: 'ana', key: 'units', value: 'metric', source: 'explicit' });
    await store.upsertPreference({ userId: 'ana', key: 'tone', value: 'playful', source: 'inferred', confidence: 0.2 });
    await store.setContext({ userId: 'ana', sessionId: 'ana-now', type: 'task', key: 'goal', value: 'packing list' });
    await store.linkSessions({ userId: 'ana', source: 'ana-pets', target: 'ana-now', type: 'related', strength: 0.7 });
  });

  it("returns only the user's memories, the recent window apart, with the parts of each score", async () => {
    const bundle = await store.retrieveContext({ userId: 'ana', sessionId: 'ana-now', query: 'trip to Lisbon packing', recentLimit: 2, useCache: false });
    expect(bundle.recentMessages.map((m) => m.content)).toEqual(['sure', 'and for the cat?']);
    const relevant = bundle.relevantMessages;
    expect(relevant.length).toBeGreaterThan(0);
    expect(new Set(relevant.map((m) => m.userId))).toEqual(new Set(['ana']));
    expect(relevant.map((m) => m.content)).not.toContain('and for the cat?');
    expect(relevant[0].content).toMatch(/Lisbon/);
    expect(relevant[0].scores.vector).toBeGreaterThan(0);
    expect(relevant[0].scores.text).toBeGreaterThan(0);
    expect(relevant.map((m) => m.score)).toEqual([...relevant.map((m) => m.score)].sort((a, b) => b - a));
    const benRows = await sql<{ id: string }>(`SELECT message_id::text AS id FROM ${s}.conversation_messages WHERE user_id = 'ben'`);
    expect(relevant.filter((m) => benRows.some((r) => Number(r.id) === m.messageId))).toEqual([]);
  });

  it('adds live context, confident preferences (recording their use), related sessions and a prompt within the budget', async () => {
    const bundle = await store.retrieveContext({ userId: 'ana', sessionId: 'ana-now', useCache: false });
    expect(bundle.query).toBe('and for the cat?');
    expect(bundle.context.map((c) => c.value)).toEqual(['packing list']);
    expect(bundle.preferences.map((p) => p.key)).toEqual(['units']);
    expect(bundle.relatedSessions.map((r) => r.relatedSessionId)).toContain('ana-pets');
    expect(bundle.prompt).toMatch(/## User preferences\n- units: metric/);
    expect(bundle.prompt).toMatch(/## Relevant memories\n- \[2026-02-01\] human: My cat Tom hates travelling/);
    expect(bundle.prompt).toMatch(/## Recent conversation\nhuman: what should I pack for Lisbon\?\nai: sure\nhuman: and for the cat\?$/);
    const [units] = await sql<{ usage_count: number }>(`SELECT usage_count FROM ${s}.user_preferences WHERE user_id = 'ana' AND preference_key = 'units'`);
    expect(units.usage_count).toBeGreaterThanOrEqual(1);
    const small = await store.retrieveContext({ userId: 'ana', sessionId: 'ana-now', tokenBudget: 20, useCache: false });
    expect(small.stats.tokensUsed).toBeLessThanOrEqual(20);
    expect(small.prompt.length).toBeLessThan(bundle.prompt.length);
  });

  it('serves a repeated request from the cache until a write changes that user\'s memory', async () => {
    const request = { userId: 'ana', query: 'cat travelling', recentLimit: 0 };
    const miss = await store.retrieveContext(request);
    expect(miss.stats.cacheHit).toBe(false);
    const calls = embedder.calls;
    const hit = await store.retrieveContext(request);
    expect(hit.stats.cacheHit).toBe(true);
    expect(embedder.calls).toBe(calls); // a hit embeds nothing
    expect(hit.relevantMessages.map((m) => m.messageId)).toEqual(miss.relevantMessages.map((m) => m.messageId));
    await store.storeMessage({ userId: 'ben', sessionId: 'ben-pets', role: 'human', content: 'cat travelling again' });
    expect((await store.retrieveContext(request)).stats.cacheHit).toBe(true); // another user's write
    await store.storeMessage({ userId: 'ana', sessionId: 'ana-pets', role: 'human', content: 'Tom now likes the car' });
    const after = await store.retrieveContext(request);
    expect(after.stats.cacheHit).toBe(false);
    expect(after.relevantMessages.map((m) => m.content)).toContain('Tom now likes the car');
    const [entry] = await sql<{ n: number; hits: number; ms: number | null; qh: string }>(
      `SELECT count(*)::int AS n, max(cache_hit_count) AS hits, max(retrieval_time_ms) AS ms, max(query_hash) AS qh FROM ${s}.memory_retrieval_cache WHERE user_id = 'ana'`,
    );
    expect(entry.hits).toBeGreaterThanOrEqual(2);
    expect(entry.qh).toMatch(/^[0-9a-f]{64}$/);
    now = new Date(now.getTime() + 2 * 3_600_000); // past cache_ttl_hours (1)
    expect((await store.retrieveContext(request)).stats.cacheHit).toBe(false);
    await store.flush();
    const [metrics] = await sql<{ hits: number }>(`SELECT count(*) FILTER (WHERE cache_hit)::int AS hits FROM ${s}.memory_performance_metrics WHERE operation_type = 'retrieve_context'`);
    expect(metrics.hits).toBeGreaterThanOrEqual(2);
  });

  it('raises the relevance of what it retrieves, and the session follows', async () => {
    const before = await sql<{ r: number }>(`SELECT relevance_score AS r FROM ${s}.conversation_sessions WHERE session_id = 'ana-trip'`);
    const bundle = await store.retrieveContext({ userId: 'ana', query: 'Lisbon warm clothes', recentLimit: 0, useCache: false });
    const top = bundle.relevantMessages[0];
    await store.flush(); // reinforcement is written in the background
    const [row] = await sql<{ r: number }>(`SELECT relevance_score AS r FROM ${s}.conversation_messages WHERE message_id = $1`, [top.messageId]);
    expect(row.r).toBeGreaterThan(top.scores.relevance);
    const after = await sql<{ r: number }>(`SELECT relevance_score AS r FROM ${s}.conversation_sessions WHERE session_id = 'ana-trip'`);
    expect(after[0].r).toBeGreaterThan(before[0].r);
  });

  it('works on full text alone without an embedder, and honours scope and filters', async () => {
    const plain = openMemory(config);
    const bundle = await plain.retrieveContext({ userId: 'ana', query: 'Lisbon', scope: 'session', sessionId: 'ana-trip', roles: ['ai'], recentLimit: 0, useCache: false });
    expect(bundle.relevantMessages.map((m) => [m.sessionId, m.role, m.scores.vector])).toEqual([['ana-trip', 'ai', null]]);
    const none = await plain.retrieveContext({ userId: 'ana', query: 'Lisbon', to: '2025-12-31T00:00:00Z', recentLimit: 0, useCache: false });
    expect(none.relevantMessages).toEqual([]);
  });

  it('returns the turns around each memory, and chunks of the configured documents table', async () => {
    await sql(`CREATE TABLE ${s}.document_chunks (id serial PRIMARY KEY, content text NOT NULL, embedding public.vector(384), metadata jsonb)`);
    const docs = ['Lisbon trams run until midnight', 'Cats travel best in a carrier'];
    const vectors = await embedder.embed(docs);
    for (const [i, content] of docs.entries()) {
      await sql(`INSERT INTO ${s}.document_chunks (content, embedding, metadata) VALUES ($1, $2::public.vector, $3)`, [content, `[${vectors[i].join(',')}]`, { source: `doc-${i}` }]);
    }
    const withDocuments = openMemory({ ...config, embeddings: embedder, documents: { table: `${config.schema}.document_chunks` } });
    const bundle = await withDocuments.retrieveContext({
      userId: 'ana', sessionId: 'ana-trip', scope: 'session', query: 'warm light clothes', recentLimit: 0, topK: 1, neighbors: 1, useCache: false,
      includeDocuments: true, topDocuments: 1,
    });
    const [top] = bundle.relevantMessages;
    expect(top.content).toBe('Lisbon in May is warm; pack light clothes');
    expect(top.neighbors?.map((m) => m.content)).toEqual(['I am planning a trip to Lisbon in May']);
    expect(bundle.documents).toEqual([{ content: 'Lisbon trams run until midnight', metadata: { source: 'doc-0' }, similarity: expect.any(Number) }]);
  });

  it("keeps each user's message count for the choice between exact and HNSW search", async () => {
    const count = async (user: string) => (await sql<{ n: number; c: string }>(
      `SELECT (SELECT count(*)::int FROM ${s}.conversation_messages WHERE user_id = $1) AS n, (SELECT message_count::text FROM ${s}.ltst_user_state WHERE user_id = $1) AS c`, [user]))[0];
    const before = await count('ana');
    expect(Number(before.c)).toBe(before.n);
    await sql(`DELETE FROM ${s}.conversation_messages WHERE user_id = 'ana' AND session_id = 'ana-pets'`);
    const after = await count('ana');
    expect(after.n).toBeLessThan(before.n);
    expect(Number(after.c)).toBe(after.n);
  });

  it("refuses bad requests and another user's session", async () => {
    expect(await ltstErrorOf(store.retrieveContext({ userId: '', query: 'x' }))).toMatchObject({ code: 'INVALID_INPUT', field: 'userId' });
    expect(await ltstErrorOf(store.retrieveContext({ userId: 'ana', scope: 'session', query: 'x' }))).toMatchObject({ field: 'sessionId' });
    expect(await ltstErrorOf(store.retrieveContext({ userId: 'ana', query: 'x', topK: -1 }))).toMatchObject({ field: 'topK' });
    expect(await ltstErrorOf(store.retrieveContext({ userId: 'ana' }))).toMatchObject({ field: 'query' });
    expect(await ltstErrorOf(store.retrieveContext({ userId: 'ben', sessionId: 'ana-now', query: 'x' }))).toMatchObject({ code: 'FORBIDDEN' });
  });
});

(serverUrl ? describe : describe.skip)('a retrieval on PostgreSQL', () => {
  const [{ config }] = testTargets(`${__filename}-statements`).filter((t) => t.name === 'postgres');
  useFreshSchema(config);

  const statementsOf = async (work: () => Promise<unknown>) => (await statementsSentDuring(work)).map((statement) => statement.text);

  it('is the cache lookup and one transaction of five statements, its settings sent with BEGIN; without the cache, the transaction alone', async () => {
    const store = openMemory({ ...config, embeddings: hashEmbedder() });
    await store.storeMessages([
      { userId: 'ann', sessionId: 'chat', role: 'human', content: 'I drink green tea every morning' },
      { userId: 'ann', sessionId: 'chat', role: 'ai', content: 'Green tea it is' },
    ]);
    await store.upsertPreference({ userId: 'ann', key: 'drink', value: 'tea', source: 'explicit' });
    await store.retrieveContext({ userId: 'ann', sessionId: 'chat', query: 'what do I drink?' }); // schema facts and the scope
    await flushAllBuffers();
    const retrieve = (useCache: boolean) => async () => {
      const bundle = await store.retrieveContext({ userId: 'ann', sessionId: 'chat', query: 'which tea in the morning?', recentLimit: 1, useCache });
      expect(bundle.relevantMessages.map((m) => m.content)).toEqual(['I drink green tea every morning']);
    };
    const search = [
      "BEGIN; SET LOCAL statement_timeout = '10000'; SET LOCAL synchronous_commit = 'off'; SET LOCAL plan_cache_mode = 'force_generic_plan'",
      // The user's generation, the query's term statistics and the bundle's parts.
      expect.stringMatching(/^SELECT u\.generation, u\.message_count, .*ltst_message_terms.*to_jsonb\(s\).*user_preferences.*conversation_context.*session_relationships/),
      expect.stringMatching(/OPERATOR\(.*<=>\)/), // vector candidates
      expect.stringMatching(/^WITH matches AS (?!.*ts_rank_cd)/), // text candidates
      expect.stringMatching(/^WITH found AS/), // the ranked rows
    ];
    expect(await statementsOf(retrieve(true))).toEqual([
      expect.stringMatching(/^UPDATE .*memory_retrieval_cache SET cache_hit_count/), // the cache, for the user's generation
      ...search,
      expect.stringMatching(/^INSERT INTO .*memory_retrieval_cache/),
      expect.stringMatching(/^UPDATE .*user_preferences SET usage_count/),
      'COMMIT',
    ]);
    expect(await statementsOf(retrieve(false))).toEqual([...search, expect.stringMatching(/^UPDATE .*user_preferences SET usage_count/), 'COMMIT']);
  });

  it('searches a user in the vector graph through the graph, with sorting off for that statement alone', async () => {
    const store = openMemory({ ...config, embeddings: hashEmbedder(), memory: { vectorGraphMinMessages: 2 } });
    await store.storeMessages(['green tea at dawn', 'black coffee at noon', 'mint tea at night'].map((content) => ({ userId: 'gus', sessionId: 'gus-1', role: 'human' as const, content })));
    expect(await store.joinVectorGraph({ userId: 'gus' })).toEqual({ users: 1, messages: 3 });
    const retrieve = () => store.retrieveContext({ userId: 'gus', query: 'which tea at night?', recentLimit: 0, topK: 1, useCache: false });
    await retrieve();
    let found: string[] = [];
    const statements = await statementsOf(async () => (found = (await retrieve()).relevantMessages.map((m) => m.content)));
    expect(found).toEqual(['mint tea at night']);
    // Left to its costs, the planner sorted a 25,000-message user's vectors exactly (89 ms) rather than read the graph (2 ms).
    expect(statements.slice(1, 6)).toEqual([
      expect.stringMatching(/^SELECT u\.generation/),
      "SET LOCAL hnsw.ef_search = '100'; SET LOCAL hnsw.iterative_scan = 'relaxed_order'; SET LOCAL enable_sort = 'off'",
      expect.stringMatching(/AND m\.in_vector_graph .*ORDER BY m\.embedding OPERATOR\(\S+\) \S+ LIMIT/), // the graph's order, not "+ 0"
      "SET LOCAL enable_sort = 'on'",
      expect.stringMatching(/^WITH matches AS/),
    ]);
    await store.close();
  });

  it('keeps one generic plan per statement for a user of up to 2,000 messages, and plans each statement for a larger one', async () => {
    const store = openMemory(config);
    const turns = (userId: string, count: number) => Array.from({ length: count }, (_, i) => ({ userId, sessionId: `${userId}-${i % 4}`, role: 'human' as const, content: `note ${i} about tea` }));
    await store.storeMessages(turns('small', 20));
    for (let i = 0; i < 2_001; i += 1_000) await store.storeMessages(turns('large', Math.min(1_000, 2_001 - i)));
    const settingsOf = async (userId: string) => {
      await store.retrieveContext({ userId, query: 'tea', useCache: false });
      return (await statementsOf(() => store.retrieveContext({ userId, query: 'tea', useCache: false }))).filter((text) => text.includes('SET LOCAL'));
    };
    expect(await settingsOf('small')).toEqual([expect.stringContaining("SET LOCAL plan_cache_mode = 'force_generic_plan'")]);
    // With the generic plans a 25,000-message user took 33 instead of 26 ms (bench/retrieval.js).
    expect(await settingsOf('large')).toEqual([expect.stringContaining("SET LOCAL plan_cache_mode = 'force_generic_plan'"), "SET LOCAL plan_cache_mode = 'force_custom_plan'"]);
    await store.close();
  });
});
