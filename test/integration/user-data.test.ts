import { closeAllMemory, LtstError, openMemory } from '../../src';
import { onDatabase, testTargets, useFreshSchema } from '../helpers/databases';

const HASH = 'd'.repeat(64);
const USERS = ['alice', 'bob', 'carol'];
/** Every table holding per-user rows, with the column naming the user. */
const TABLES = ['conversation_sessions', 'conversation_messages', 'conversation_context', 'session_relationships', 'memory_retrieval_cache', 'user_preferences', 'memory_performance_metrics', 'ltst_user_state', 'event_ledger'];

describe.each(testTargets(__filename))('user data operations on $name', ({ config }) => {
  const t = (name: string) => `"${config.schema}".${name}`;
  const q = <T = Record<string, unknown>>(text: string, values: unknown[] = []) => onDatabase(config, async (db) => (await db.query<T>(text, values)).rows);
  const exportedAt = new Date('2031-05-06T07:08:09.000Z');
  const store = openMemory({ ...config, memory: { clock: () => exportedAt } });
  let hasEmbedding = false;

  /** Row counts per table for each user (and 'system'). */
  const counts = async () => {
    const result: Record<string, Record<string, number>> = {};
    for (const table of TABLES) {
      const rows = await q<{ user_id: string; n: number }>(`SELECT user_id, count(*)::integer AS n FROM ${t(table)} WHERE user_id IS NOT NULL GROUP BY user_id`);
      result[table] = Object.fromEntries(rows.map((row) => [row.user_id, row.n]));
    }
    return result;
  };

  /** Two sessions per user, each with three messages, context, a link, cache rows, preferences and metrics. */
  async function seed(user: string) {
    for (const n of [1, 2]) {
      const session = `${user}-s${n}`;
      await q(`INSERT INTO ${t('conversation_sessions')} (session_id, user_id, session_name, metadata) VALUES ($1, $2, $3, $4)`, [session, user, `Chat ${n} of ${user}`, JSON.stringify({ some_key: n })]);
      // Inserted out of order: the export must order by message_index.
      for (const index of [2, 0, 1]) {
        await q(`INSERT INTO ${t('conversation_messages')} (session_id, user_id, role, content, content_hash, message_index) VALUES ($1, $2, $3, $4, $5, $6)`, [session, user, index % 2 ? 'ai' : 'human', `${session} message ${index}`, HASH, index]);
      }
      await q(`INSERT INTO ${t('conversation_context')} (session_id, user_id, context_type, context_key, context_value, context_hash) VALUES ($1, $2, 'fact', 'topic', $3, $4)`, [session, user, `${user} topic ${n}`, HASH]);
      await q(`INSERT INTO ${t('memory_retrieval_cache')} (cache_key, user_id, session_id, query_hash, retrieved_context) VALUES ($1, $2, $3, $4, '{}')`, [`${session}-cache`, user, session, HASH]);
    }
    await q(`INSERT INTO ${t('session_relationships')} (user_id, source_session_id, target_session_id, relationship_type) VALUES ($1, $2, $3, 'continuation')`, [user, `${user}-s2`, `${user}-s1`]);
    await q(`INSERT INTO ${t('memory_retrieval_cache')} (cache_key, user_id, query_hash, retrieved_context) VALUES ($1, $2, $3, '[]')`, [`${user}-all-sessions`, user, HASH]);
    await q(`INSERT INTO ${t('user_preferences')} (user_id, preference_key, preference_value) VALUES ($1, 'language', $2), ($1, 'tone', 'brief')`, [user, `${user}-lang`]);
    await q(`INSERT INTO ${t('memory_performance_metrics')} (operation_type, user_id, session_id, execution_time_ms) VALUES ('retrieve_context', $1, $2, 3)`, [user, `${user}-s1`]);
    await q(`INSERT INTO ${t('event_ledger')} (event_type, user_id, event_data) VALUES ('reminder', $1, $2)`, [user, JSON.stringify({ about: user })]);
    if (hasEmbedding) {
      const [meta] = await q<{ d: number }>(`SELECT value::integer AS d FROM ${t('ltst_meta')} WHERE key = 'embedding_dimensions'`);
      const vector = `[${Array(meta.d).fill(0.5).join(',')}]`;
      await q(`UPDATE ${t('conversation_messages')} SET embedding = $2 WHERE user_id = $1 AND message_index = 0`, [user, vector]);
    }
  }

  useFreshSchema(config);
  beforeAll(async () => {
    hasEmbedding = (await q(`SELECT 1 FROM information_schema.columns WHERE table_schema = $1 AND table_name = 'conversation_messages' AND column_name = 'embedding'`, [config.schema])).length === 1;
    expect(hasEmbedding).toBe(true); // both targets have pgvector; the no-pgvector path is tested below
    for (const user of USERS) await seed(user);
  });
  it('exportUserData returns all of one user, in order, and nothing of the others', async () => {
    const data = await store.exportUserData('bob');
    expect(data.userId).toBe('bob');
    expect(data.exportedAt).toBe(exportedAt.toISOString());
    expect(data.sessions.map((s) => s.sessionId)).toEqual(['bob-s1', 'bob-s2']);
    for (const session of data.sessions) {
      expect(session).toMatchObject({ userId: 'bob', sessionLength: 3, metadata: { some_key: expect.any(Number) } });
      expect(session.messages.map((m) => m.content)).toEqual([0, 1, 2].map((i) => `${session.sessionId} message ${i}`));
      expect(session.messages.map((m) => m.messageIndex)).toEqual([0, 1, 2]);
      // Derived or bookkeeping columns are not the user's data.
      expect(session.messages[0]).not.toHaveProperty('contentTsv');
      expect(session.messages[0]).not.toHaveProperty('inVectorGraph');
      expect(session.context).toEqual([expect.objectContaining({ contextType: 'fact', contextKey: 'topic', contextValue: expect.stringMatching(/^bob topic/) })]);
      if (hasEmbedding) {
        const embedding = session.messages[0].embedding as number[];
        expect(Array.isArray(embedding) && embedding.length > 0 && embedding.every((x) => x === 0.5)).toBe(true);
        expect(session.messages[1].embedding).toBeNull();
      } else {
        expect(session.messages[0]).not.toHaveProperty('embedding');
      }
    }
    expect(data.sessions[1].relationships).toEqual([expect.objectContaining({ sourceSessionId: 'bob-s2', targetSessionId: 'bob-s1', relationshipType: 'continuation' })]);
    expect(data.sessions[0].relationships).toEqual([]);
    expect(data.preferences.map((p) => [p.preferenceKey, p.preferenceValue])).toEqual([['language', 'bob-lang'], ['tone', 'brief']]);
    expect(data.cache.map((c) => c.cacheKey).sort()).toEqual(['bob-all-sessions', 'bob-s1-cache', 'bob-s2-cache']);
    expect(data.metrics.length).toBeGreaterThanOrEqual(1);
    expect(data.events).toEqual([expect.objectContaining({ eventType: 'reminder', userId: 'bob', eventData: { about: 'bob' } })]);
    // JSON-ready: a round trip through JSON changes nothing, and no other user appears anywhere.
    const text = JSON.stringify(data);
    expect(JSON.parse(text)).toEqual(data);
    expect(text).not.toMatch(/alice|carol/);
    const rows = [...data.sessions, ...data.sessions.flatMap((s) => [...s.messages, ...s.context, ...s.relationships]), ...data.preferences, ...data.cache, ...data.metrics];
    for (const row of rows) for (const key of Object.keys(row)) expect(key).toMatch(/^[a-z][A-Za-z]*$/);
    // Inside metadata the user's own keys stay as stored.
    expect(data.sessions[0].metadata).toEqual({ some_key: 1 });
  });

  it('exportUserData of an unknown user is empty', async () => {
    expect(await store.exportUserData('nobody')).toMatchObject({ userId: 'nobody', sessions: [], preferences: [], cache: [] });
  });

  it('deleteUserData removes one user completely in one transaction and leaves the others as they were', async () => {
    await store.flush();
    const before = await counts();
    expect(await store.deleteUserData('bob')).toEqual({
      userId: 'bob',
      sessions: 2,
      messages: 6,
      context: 2,
      relationships: 1,
      cache: 3,
      preferences: 2,
      events: 1,
      metrics: before.memory_performance_metrics.bob,
    });
    await store.flush();
    const after = await counts();
    for (const table of TABLES) {
      expect(after[table].bob ?? 0).toBe(0);
      for (const other of ['alice', 'carol', 'system']) expect([table, other, after[table][other]]).toEqual([table, other, before[table][other]]);
    }
    expect(after.user_preferences.system).toBe(4);
    expect(await store.deleteUserData('bob')).toMatchObject({ sessions: 0, messages: 0, preferences: 0, metrics: 0 });
  });

  it('deleteUserData rolls everything back when a statement fails mid-way', async () => {
    // A trigger that fails the last step (metrics) after sessions, messages and preferences are gone.
    await q(`CREATE FUNCTION ${t('fail_delete')}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'deliberate failure'; END $$`);
    await q(`CREATE TRIGGER fail_delete BEFORE DELETE ON ${t('memory_performance_metrics')} FOR EACH ROW WHEN (OLD.user_id = 'carol') EXECUTE FUNCTION ${t('fail_delete')}()`);
    await store.flush();
    const before = await counts();
    try {
      await expect(store.deleteUserData('carol')).rejects.toThrow('deliberate failure');
    } finally {
      await q(`DROP TRIGGER fail_delete ON ${t('memory_performance_metrics')}`);
    }
    await store.flush();
    const after = await counts();
    for (const table of TABLES) expect([table, after[table]]).toEqual([table, before[table]]);
    expect((await store.exportUserData('carol')).sessions.flatMap((s) => s.messages)).toHaveLength(6);
  });

  it('refuses the system user and bad ids with INVALID_INPUT naming userId', async () => {
    for (const call of [() => store.deleteUserData('system'), () => store.deleteUserData(''), () => store.deleteUserData(42 as never), () => store.exportUserData('  '), () => store.exportUserData('x'.repeat(256))]) {
      const error = await call().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(LtstError);
      expect(error).toMatchObject({ code: 'INVALID_INPUT', field: 'userId' });
    }
    expect((await counts()).user_preferences.system).toBe(4);
  });
});

describe('exportUserData on a database without pgvector', () => {
  const config = { embedded: { dataDir: 'memory://user_data_novector', vector: false }, schema: 'ltst_t_user_data_novector' };
  const store = openMemory(config);
  afterAll(async () => {
    await store.flush();
    await closeAllMemory();
  });

  it('exports messages without an embedding key and deletes as usual', async () => {
    await store.migrate();
    const t = (name: string) => `"${config.schema}".${name}`;
    await onDatabase(config, async (db) => {
      expect((await db.query(`SELECT 1 FROM information_schema.columns WHERE table_schema = $1 AND column_name = 'embedding'`, [config.schema])).rows).toEqual([]);
      await db.query(`INSERT INTO ${t('conversation_sessions')} (session_id, user_id) VALUES ('nv', 'dave')`);
      await db.query(`INSERT INTO ${t('conversation_messages')} (session_id, user_id, role, content, content_hash, message_index) VALUES ('nv', 'dave', 'human', 'no vectors here', $1, 0)`, [HASH]);
    });
    const data = await store.exportUserData('dave');
    expect(data.sessions[0].messages).toEqual([expect.objectContaining({ content: 'no vectors here', messageIndex: 0 })]);
    expect(data.sessions[0].messages[0]).not.toHaveProperty('embedding');
    expect(await store.deleteUserData('dave')).toMatchObject({ sessions: 1, messages: 1 });
  });
});
