import { onDatabase, sqlStateOf, testTargets, useFreshSchema } from '../helpers/databases';

const HASH = 'a'.repeat(64);
const A = 'user-a';
const B = 'user-b';

describe.each(testTargets(__filename))('constraints on $name', ({ config }) => {
  const schema = config.schema as string;
  const t = (table: string) => `"${schema}".${table}`;
  const q = <T = Record<string, unknown>>(text: string, values: unknown[] = []) => onDatabase(config, async (db) => (await db.query<T>(text, values)).rows);
  const count = async (table: string, where = 'true', values: unknown[] = []) =>
    Number((await q<{ n: string }>(`SELECT count(*) AS n FROM ${t(table)} WHERE ${where}`, values))[0].n);

  const SESSION = `INSERT INTO ${t('conversation_sessions')} (session_id, user_id, status) VALUES ($1, $2, $3)`;
  const MESSAGE = `INSERT INTO ${t('conversation_messages')} (session_id, user_id, role, content, content_hash, message_index, relevance_score) VALUES ($1, $2, $3, $4, $5, $6, $7)`;
  const CONTEXT = `INSERT INTO ${t('conversation_context')} (session_id, user_id, context_type, context_key, context_value, context_hash, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)`;
  const PREFERENCE = `INSERT INTO ${t('user_preferences')} (user_id, preference_key, preference_value, confidence_score, source) VALUES ($1, $2, $3, $4, $5)`;
  const CACHE = `INSERT INTO ${t('memory_retrieval_cache')} (cache_key, user_id, session_id, query_hash, retrieved_context) VALUES ($1, $2, $3, $4, $5)`;
  const RELATIONSHIP = `INSERT INTO ${t('session_relationships')} (user_id, source_session_id, target_session_id, relationship_type, similarity_score) VALUES ($1, $2, $3, $4, $5)`;
  const EVENT = `INSERT INTO ${t('event_ledger')} (event_type, status) VALUES ($1, $2)`;

  useFreshSchema(config);
  beforeAll(async () => {
    await q(SESSION, ['s-a', A, 'active']);
    await q(SESSION, ['s-a2', A, 'paused']);
    await q(SESSION, ['s-b', B, 'archived']);
    await q(MESSAGE, ['s-a', A, 'human', 'hello', HASH, 0, 0.5]);
    await q(CONTEXT, ['s-a', A, 'topic', 'subject', 'cats', HASH, null]);
    await q(PREFERENCE, [A, 'language', 'en', 0.9, 'explicit']);
    await q(CACHE, ['key-1', A, 's-a', HASH, '{"messages":[]}']);
    await q(RELATIONSHIP, [A, 's-a', 's-a2', 'related', 0.4]);
  });
  it('accepted the valid parent rows', async () => {
    expect(await count('conversation_sessions', 'user_id = ANY($1)', [[A, B]])).toBe(3);
    const [session] = await q<{ session_length: number }>(`SELECT session_length FROM ${t('conversation_sessions')} WHERE session_id = $1`, ['s-a']);
    expect(session.session_length).toBe(1);
  });

  // Every bad row has its own keys (message_index, preference_key...), so one wrongly accepted
  // row cannot turn the next case into a unique violation.
  it.each<[string, string, unknown[]]>([
    ['a role outside (human, ai, system, tool)', MESSAGE, ['s-a', A, 'robot', 'x', HASH, 10, 0]],
    ['a session status outside (active, paused, archived)', SESSION, ['s-bad', A, 'deleted']],
    ['a relationship_type outside the four', RELATIONSHIP, [A, 's-a', 's-a2', 'sibling', 0]],
    ['messages.relevance_score 1.5', MESSAGE, ['s-a', A, 'ai', 'x', HASH, 11, 1.5]],
    ['user_preferences.confidence_score -0.1', PREFERENCE, [A, 'tone', 'dry', -0.1, 'learned']],
    ['session_relationships.similarity_score 2', RELATIONSHIP, [A, 's-a', 's-a2', 'fork', 2]],
    ['a relationship from a session to itself', RELATIONSHIP, [A, 's-a', 's-a', 'reference', 0]],
    ['a preference source outside (learned, explicit, inferred)', PREFERENCE, [A, 'style', 'dry', 0.5, 'guessed']],
    ["event_ledger status 'bogus'", EVENT, ['memory.saved', 'bogus']],
    ['a content_hash that is not hex', MESSAGE, ['s-a', A, 'ai', 'x', 'not-a-hash', 12, 0]],
    ['a content_hash of 63 hex chars', MESSAGE, ['s-a', A, 'ai', 'x', 'a'.repeat(63), 13, 0]],
    ['a content_hash in upper case', MESSAGE, ['s-a', A, 'ai', 'x', 'A'.repeat(64), 14, 0]],
  ])('rejects %s with 23514 (check_violation)', async (_label, text, values) => {
    expect(await sqlStateOf(q(text, values))).toBe('23514');
  });

  it.each<[string, string, unknown[]]>([
    ['(session_id, message_index)', MESSAGE, ['s-a', A, 'ai', 'again', HASH, 0, 0]],
    ['(session_id, context_type, context_key)', CONTEXT, ['s-a', A, 'topic', 'subject', 'dogs', HASH, null]],
    ['(user_id, preference_key)', PREFERENCE, [A, 'language', 'fr', 0.1, 'learned']],
    ['cache_key', CACHE, ['key-1', B, 's-b', HASH, '{}']],
    ['(source, target, relationship_type)', RELATIONSHIP, [A, 's-a', 's-a2', 'related', 0.9]],
  ])('rejects a duplicate %s with 23505 (unique_violation)', async (_label, text, values) => {
    expect(await sqlStateOf(q(text, values))).toBe('23505');
  });

  it('leaves nothing behind when a duplicate message is rejected', async () => {
    const before = await count('conversation_messages', 'session_id = $1', ['s-a']);
    expect(await sqlStateOf(q(MESSAGE, ['s-a', A, 'ai', 'duplicate', HASH, 0, 0]))).toBe('23505');
    expect(await count('conversation_messages', 'session_id = $1', ['s-a'])).toBe(before);
    expect(await count('conversation_messages', 'content = $1', ['duplicate'])).toBe(0);
    const [session] = await q<{ session_length: number }>(`SELECT session_length FROM ${t('conversation_sessions')} WHERE session_id = $1`, ['s-a']);
    expect(session.session_length).toBe(before);
  });

  it.each<[string, string, unknown[]]>([
    ['a message for a missing session', MESSAGE, ['s-missing', A, 'human', 'x', HASH, 0, 0]],
    ["a message whose user_id is not its session's owner", MESSAGE, ['s-a', B, 'human', 'x', HASH, 15, 0]],
    ["a relationship to another user's session", RELATIONSHIP, [A, 's-a', 's-b', 'related', 0]],
    ["a relationship from another user's session", RELATIONSHIP, [B, 's-a', 's-b', 'related', 0]],
    ["a cache entry for another user's session", CACHE, ['k-cross-user', B, 's-a', 'h', '{}']],
    ["context for another user's session", CONTEXT, ['s-a', B, 'project', 'k-cross-user', 'v', HASH, null]],
  ])('rejects %s with 23503 (foreign_key_violation)', async (_label, text, values) => {
    expect(await sqlStateOf(q(text, values))).toBe('23503');
  });

  it.each([
    ["a message's session_id", 'conversation_messages', 'session_id', 's-a2', 'message_index = 0 AND session_id = $2'],
    ["a message's user_id", 'conversation_messages', 'user_id', B, 'message_index = 0 AND session_id = $2'],
    ["a session's user_id", 'conversation_sessions', 'user_id', B, 'session_id = $2'],
  ])('rejects changing %s with 23001 (restrict_violation)', async (_label, table, column, value, where) => {
    const state = await sqlStateOf(q(`UPDATE ${t(table)} SET ${column} = $1 WHERE ${where}`, [value, 's-a']));
    expect(state).toBe('23001');
    const [row] = await q<{ session_id: string; user_id: string }>(`SELECT session_id, user_id FROM ${t(table)} WHERE ${where.replace('$2', '$1')}`, ['s-a']);
    expect(row).toEqual({ session_id: 's-a', user_id: A });
  });

  it("cascades a session's delete to its messages, context, relationships and cache, and to nothing else", async () => {
    for (const [id, user] of [['c-a1', 'cascade-a'], ['c-a2', 'cascade-a'], ['c-b', 'cascade-b']]) {
      await q(SESSION, [id, user, 'active']);
      await q(MESSAGE, [id, user, 'human', `hi ${id}`, HASH, 0, 0]);
      await q(MESSAGE, [id, user, 'ai', `yo ${id}`, HASH, 1, 0]);
      await q(CONTEXT, [id, user, 'topic', 'k', 'v', HASH, null]);
      await q(CACHE, [`cache-${id}`, user, id, HASH, '{}']);
    }
    await q(CACHE, ['cache-cascade-a-all', 'cascade-a', null, HASH, '{}']);
    await q(RELATIONSHIP, ['cascade-a', 'c-a1', 'c-a2', 'continuation', 0.5]);
    await q(RELATIONSHIP, ['cascade-a', 'c-a2', 'c-a1', 'reference', 0.5]);
    const bRows = await q(`SELECT * FROM ${t('conversation_messages')} WHERE user_id = $1 ORDER BY message_id`, ['cascade-b']);

    expect(await q(`DELETE FROM ${t('conversation_sessions')} WHERE session_id = $1 RETURNING session_id`, ['c-a1'])).toEqual([{ session_id: 'c-a1' }]);

    expect(await count('conversation_messages', 'session_id = $1', ['c-a1'])).toBe(0);
    expect(await count('conversation_context', 'session_id = $1', ['c-a1'])).toBe(0);
    expect(await count('memory_retrieval_cache', 'session_id = $1', ['c-a1'])).toBe(0);
    expect(await count('session_relationships', 'source_session_id = $1 OR target_session_id = $1', ['c-a1'])).toBe(0);
    // The same user's other session, the user-wide cache row and the other user stay as they were.
    expect(await count('conversation_messages', 'session_id = $1', ['c-a2'])).toBe(2);
    expect(await count('conversation_context', 'session_id = $1', ['c-a2'])).toBe(1);
    const cacheKeys = await q<{ cache_key: string }>(`SELECT cache_key FROM ${t('memory_retrieval_cache')} WHERE user_id LIKE 'cascade-%' ORDER BY cache_key`);
    expect(cacheKeys.map((r) => r.cache_key)).toEqual(['cache-c-a2', 'cache-c-b', 'cache-cascade-a-all']);
    expect(await q(`SELECT * FROM ${t('conversation_messages')} WHERE user_id = $1 ORDER BY message_id`, ['cascade-b'])).toEqual(bRows);
    expect(await count('conversation_context', 'user_id = $1', ['cascade-b'])).toBe(1);
    expect(await count('conversation_sessions', 'user_id = ANY($1)', [['cascade-a', 'cascade-b']])).toBe(2);
    // The untouched fixtures of the other cases are still there too.
    expect(await count('conversation_messages', 'session_id = $1', ['s-a'])).toBe(1);
  });
});
