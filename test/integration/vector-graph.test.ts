import { openMemory } from '../../src';
import type { MemoryConfig } from '../../src/config';
import { hashEmbedder } from '../helpers/hash-embedder';
import { ltstErrorOf, onDatabase, testTargets, useFreshSchema } from '../helpers/databases';

const TOPICS = ['sailing', 'pottery', 'chess', 'baking', 'cycling', 'painting', 'jazz', 'gardening'];
const turns = (userId: string, count: number, from = 0) =>
  Array.from({ length: count }, (_, k) => ({
    userId,
    sessionId: `${userId}-${Math.floor((from + k) / 20)}`,
    role: (k % 2 ? 'ai' : 'human') as 'ai' | 'human',
    content: `${userId} talks about ${TOPICS[(from + k) % TOPICS.length]} number ${from + k}`,
  }));

/**
 * Only users past memory.vectorGraphMinMessages have their messages in the HNSW graph (migrations
 * 0012 and 0013): every other user's save skips the graph's insert, and a user is searched exactly
 * until admitted.
 */
describe.each(testTargets(__filename))('the vector graph on $name', ({ config: base }) => {
  const config: MemoryConfig = { ...base, embeddings: hashEmbedder(), memory: { vectorGraphMinMessages: 30 } };
  useFreshSchema(config);

  /** Each user's messages in the graph (the schema is shared by the tests: each uses its own users). */
  const inGraph = (users: string[]) =>
    onDatabase(config, async (db) => {
      const { rows } = await db.query<{ user_id: string; flagged: string; total: string; admitted: boolean }>(
        `SELECT m.user_id, count(*) FILTER (WHERE m.in_vector_graph) AS flagged, count(*) AS total, s.in_vector_graph AS admitted
           FROM "${config.schema}".conversation_messages m JOIN "${config.schema}".ltst_user_state s USING (user_id)
          WHERE m.user_id = ANY($1::text[]) GROUP BY m.user_id, s.in_vector_graph ORDER BY 1`,
        [users],
      );
      return Object.fromEntries(rows.map((r) => [r.user_id, { flagged: Number(r.flagged), total: Number(r.total), admitted: r.admitted }]));
    });
  const graphBytes = () =>
    onDatabase(config, async (db) => Number((await db.query<{ size: string }>(`SELECT pg_relation_size($1::regclass) AS size`, [`"${config.schema}".idx_conversation_messages_embedding`])).rows[0].size));
  const bestMatch = async (store: ReturnType<typeof openMemory>, userId: string, query: string) =>
    (await store.retrieveContext({ userId, query, topK: 1, useCache: false })).relevantMessages[0]?.content;

  it('keeps users below the threshold out of the graph; a retrieval admits a user past it, whose new messages follow', async () => {
    const store = openMemory(config);
    const empty = await graphBytes();
    await store.storeMessages(turns('big', 40));
    await store.storeMessages(turns('small', 10));
    expect(await inGraph(['big', 'small'])).toEqual({ big: { flagged: 0, total: 40, admitted: false }, small: { flagged: 0, total: 10, admitted: false } });
    // No message was inserted into the graph: its saves skipped it.
    expect(await graphBytes()).toBe(empty);

    // Searched exactly until admitted, and the same best match through the graph after.
    expect(await bestMatch(store, 'big', 'big talks about chess number 10')).toBe('big talks about chess number 10');
    expect(await bestMatch(store, 'small', 'small talks about chess number 2')).toBe('small talks about chess number 2');
    await store.flush();
    expect(await inGraph(['big', 'small'])).toEqual({ big: { flagged: 40, total: 40, admitted: true }, small: { flagged: 0, total: 10, admitted: false } });
    expect(await graphBytes()).toBeGreaterThan(empty);
    expect(await bestMatch(store, 'big', 'big talks about chess number 10')).toBe('big talks about chess number 10');

    await store.storeMessages([...turns('big', 3, 40), ...turns('small', 3, 10)]);
    await store.storeMessage(turns('big', 1, 43)[0]);
    expect(await inGraph(['big', 'small'])).toEqual({ big: { flagged: 44, total: 44, admitted: true }, small: { flagged: 0, total: 13, admitted: false } });
    await store.close();
  });

  it('leaves none of a user\'s messages out when they are stored while the user is admitted', async () => {
    const store = openMemory(config);
    await store.storeMessages(turns('busy', 40));
    const writers = Array.from({ length: 4 }, async (_, w) => {
      for (let k = 0; k < 5; k++) await store.storeMessages(turns('busy', 2, 100 + w * 20 + k * 2).map((m) => ({ ...m, sessionId: `busy-w${w}` })));
    });
    await Promise.all([...writers, store.retrieveContext({ userId: 'busy', query: 'pottery', useCache: false }).then(() => store.flush())]);
    expect(await inGraph(['busy'])).toEqual({ busy: { flagged: 80, total: 80, admitted: true } });
    await store.close();
  });

  it('is joined by an import for the users it takes past the threshold, before the index is rebuilt', async () => {
    const store = openMemory(config);
    const report = await store.importMessages([...turns('imported', 50), ...turns('few', 20)], { rebuildVectorIndex: true, indexBuildMemory: '64MB' });
    expect(report).toMatchObject({ written: 70, vectorGraph: { users: 1, messages: 50 }, vectorIndex: { rebuilt: true } });
    expect(await inGraph(['few', 'imported'])).toEqual({ few: { flagged: 0, total: 20, admitted: false }, imported: { flagged: 50, total: 50, admitted: true } });
    expect(await bestMatch(store, 'imported', 'imported talks about jazz number 30')).toBe('imported talks about jazz number 30');
    await store.close();
  });

  it('admits on request: one user, or every user past the threshold', async () => {
    const store = openMemory(config);
    await store.storeMessages([...turns('later-1', 35), ...turns('later-2', 35)]);
    expect(await store.joinVectorGraph({ userId: 'later-1' })).toEqual({ users: 1, messages: 35 });
    expect(await inGraph(['later-1', 'later-2'])).toEqual({ 'later-1': { flagged: 35, total: 35, admitted: true }, 'later-2': { flagged: 0, total: 35, admitted: false } });
    expect(await store.joinVectorGraph()).toEqual({ users: 1, messages: 35 });
    expect(await store.joinVectorGraph()).toEqual({ users: 0, messages: 0 });
    expect(await ltstErrorOf(store.joinVectorGraph({ userId: '' }))).toMatchObject({ code: 'INVALID_INPUT', field: 'userId' });
    await store.close();
  });

  it('refuses a threshold that is not a whole number of messages, naming the option', async () => {
    for (const wrong of [-1, 2.5, '100']) {
      const error = await ltstErrorOf((async () => openMemory({ ...config, memory: { vectorGraphMinMessages: wrong as number } }))());
      expect(error).toMatchObject({ code: 'INVALID_CONFIG' });
      expect(error.message).toContain('memory.vectorGraphMinMessages');
    }
  });
});
