import { createHash } from 'node:crypto';
import { openMemory } from '../../src';
import type { Database } from '../../src/db/database';
import { ltstErrorOf, onDatabase, testTargets, useFreshSchema } from '../helpers/databases';

const sha = (text: string) => createHash('sha256').update(text).digest('hex');

describe.each(testTargets(__filename))('context entries on $name', ({ config }) => {
  const s = `"${config.schema}"`;
  const run = <T>(work: (db: Database) => Promise<T>) => onDatabase(config, work);
  const start = new Date('2030-01-01T00:00:00Z');
  let now = start;
  const store = openMemory({ ...config, memory: { clock: () => now } });
  const rowsOf = (sessionId: string) =>
    run(async (db) => (await db.query<{ context_key: string; context_hash: string; context_value: string }>(`SELECT context_key, context_hash, context_value FROM ${s}.conversation_context WHERE session_id = $1 ORDER BY context_id`, [sessionId])).rows);

  useFreshSchema(config);
  beforeAll(async () => {
    await run((db) => db.query(`INSERT INTO ${s}.conversation_sessions (session_id, user_id) VALUES ('s-alice', 'alice'), ('s-bob', 'bob'), ('s-alice-2', 'alice'), ('s-expiry', 'alice')`));
  });
  it('creates an entry with its hash, relevance, metadata and no expiry', async () => {
    const entry = await store.setContext({ sessionId: 's-alice', userId: 'alice', type: 'topic', key: 'project', value: 'apollo', relevance: 0.4, metadata: { from: 'chat' } });
    expect(entry).toMatchObject({ sessionId: 's-alice', userId: 'alice', type: 'topic', key: 'project', value: 'apollo', relevance: 0.4, metadata: { from: 'chat' }, expiresAt: null });
    expect(entry.hash).toBe(sha('topic\u0000project\u0000apollo'));
    expect(typeof entry.contextId).toBe('number');
    expect(entry.createdAt).toBeInstanceOf(Date);
    expect(entry.updatedAt).toBeInstanceOf(Date);
  });

  it('updates the same (type, key) in place: one row, new value and hash', async () => {
    const first = (await rowsOf('s-alice')).find((row) => row.context_key === 'project');
    const [before] = await store.getContext({ sessionId: 's-alice', userId: 'alice', type: 'topic' });
    const updated = await store.setContext({ sessionId: 's-alice', userId: 'alice', type: 'topic', key: 'project', value: 'gemini', relevance: 0.6 });
    const rows = (await rowsOf('s-alice')).filter((row) => row.context_key === 'project');
    expect(rows).toHaveLength(1);
    expect(rows[0].context_value).toBe('gemini');
    expect(rows[0].context_hash).toBe(sha('topic\u0000project\u0000gemini'));
    expect(rows[0].context_hash).not.toBe(first?.context_hash);
    expect(updated).toMatchObject({ contextId: before.contextId, value: 'gemini', relevance: 0.6, metadata: {} });
  });

  it('lists live entries by relevance then recency, optionally of one type', async () => {
    await store.setContext({ sessionId: 's-alice', userId: 'alice', type: 'topic', key: 'low', value: 'x', relevance: 0.1 });
    await store.setContext({ sessionId: 's-alice', userId: 'alice', type: 'mood', key: 'tone', value: 'calm', relevance: 0.9 });
    await store.setContext({ sessionId: 's-alice', userId: 'alice', type: 'topic', key: 'low-newer', value: 'y', relevance: 0.1 });
    const all = await store.getContext({ sessionId: 's-alice', userId: 'alice' });
    expect(all.map((entry) => entry.key)).toEqual(['tone', 'project', 'low-newer', 'low']);
    const topics = await store.getContext({ sessionId: 's-alice', userId: 'alice', type: 'topic' });
    expect(topics.map((entry) => entry.key)).toEqual(['project', 'low-newer', 'low']);
    expect(await store.getContext({ sessionId: 's-alice-2', userId: 'alice' })).toEqual([]);
    expect(await store.getContext({ sessionId: 'no-such-session', userId: 'alice' })).toEqual([]);
  });

  it("refuses another user's session with FORBIDDEN, writing nothing", async () => {
    const set = await ltstErrorOf(store.setContext({ sessionId: 's-bob', userId: 'alice', type: 'topic', key: 'k', value: 'v' }));
    expect(set.code).toBe('FORBIDDEN');
    expect(await rowsOf('s-bob')).toEqual([]);
    await store.setContext({ sessionId: 's-bob', userId: 'bob', type: 'topic', key: 'k', value: 'bob only' });
    expect((await ltstErrorOf(store.getContext({ sessionId: 's-bob', userId: 'alice' }))).code).toBe('FORBIDDEN');
    expect((await ltstErrorOf(store.deleteContext({ sessionId: 's-bob', userId: 'alice', type: 'topic', key: 'k' }))).code).toBe('FORBIDDEN');
    expect((await rowsOf('s-bob')).map((row) => row.context_value)).toEqual(['bob only']);
  });

  it('refuses a session that does not exist with NOT_FOUND', async () => {
    expect((await ltstErrorOf(store.setContext({ sessionId: 'ghost', userId: 'alice', type: 'topic', key: 'k', value: 'v' }))).code).toBe('NOT_FOUND');
  });

  it('expires entries by the memory clock, without sleeping', async () => {
    now = start;
    const entry = await store.setContext({ sessionId: 's-expiry', userId: 'alice', type: 'temp', key: 'code', value: '1234', ttlSeconds: 60 });
    expect(entry.expiresAt?.getTime()).toBe(start.getTime() + 60_000);
    await store.setContext({ sessionId: 's-expiry', userId: 'alice', type: 'temp', key: 'forever', value: 'x' });
    now = new Date(start.getTime() + 59_000);
    expect((await store.getContext({ sessionId: 's-expiry', userId: 'alice' })).map((e) => e.key).sort()).toEqual(['code', 'forever']);
    now = new Date(start.getTime() + 60_000);
    expect((await store.getContext({ sessionId: 's-expiry', userId: 'alice' })).map((e) => e.key)).toEqual(['forever']);
    // Setting it again renews the expiry from the (advanced) clock.
    const renewed = await store.setContext({ sessionId: 's-expiry', userId: 'alice', type: 'temp', key: 'code', value: '1234', ttlSeconds: 10 });
    expect(renewed.expiresAt?.getTime()).toBe(start.getTime() + 70_000);
    expect((await store.getContext({ sessionId: 's-expiry', userId: 'alice' })).map((e) => e.key).sort()).toEqual(['code', 'forever']);
    now = start;
  });

  it('deletes an entry and says whether one was removed', async () => {
    await store.setContext({ sessionId: 's-alice-2', userId: 'alice', type: 'topic', key: 'gone', value: 'soon' });
    expect(await store.deleteContext({ sessionId: 's-alice-2', userId: 'alice', type: 'topic', key: 'gone' })).toBe(true);
    expect(await store.deleteContext({ sessionId: 's-alice-2', userId: 'alice', type: 'topic', key: 'gone' })).toBe(false);
    expect(await rowsOf('s-alice-2')).toEqual([]);
  });

  it.each([
    ['userId', { userId: '' }],
    ['sessionId', { sessionId: '   ' }],
    ['type', { type: '' }],
    ['key', { key: undefined }],
    ['value', { value: 42 }],
    ['relevance', { relevance: Number.NaN }],
    ['relevance', { relevance: 1.5 }],
    ['metadata', { metadata: 'not an object' }],
    ['metadata', { metadata: [1, 2] }],
    ['ttlSeconds', { ttlSeconds: -1 }],
    ['ttlSeconds', { ttlSeconds: 1.5 }],
  ])('refuses a bad %s with INVALID_INPUT and writes nothing', async (field, bad) => {
    const input = { sessionId: 's-alice-2', userId: 'alice', type: 'topic', key: 'bad-input', value: 'v', ...bad };
    const error = await ltstErrorOf(store.setContext(input as Parameters<typeof store.setContext>[0]));
    expect(error.code).toBe('INVALID_INPUT');
    expect(error.field).toBe(field);
    expect(await rowsOf('s-alice-2')).toEqual([]);
  });

  it('records a metric per operation, also for a failed one', async () => {
    await store.setContext({ sessionId: 's-alice-2', userId: 'alice', type: 'metric', key: 'k', value: 'v' });
    await ltstErrorOf(store.getContext({ sessionId: 's-bob', userId: 'alice' }));
    await store.flush();
    const metrics = await run(async (db) =>
      (await db.query<{ operation_type: string; user_id: string; session_id: string; result_count: number | null; error_message: string | null; operation_hash: string }>(
        `SELECT operation_type, user_id, session_id, result_count, error_message, operation_hash FROM ${s}.memory_performance_metrics WHERE operation_type IN ('set_context', 'get_context') ORDER BY metric_id`,
      )).rows,
    );
    expect(metrics.find((m) => m.operation_type === 'set_context' && m.session_id === 's-alice-2')).toMatchObject({ user_id: 'alice', result_count: 1, error_message: null });
    const failed = metrics.find((m) => m.operation_type === 'get_context' && m.session_id === 's-bob' && m.user_id === 'alice');
    expect(failed).toMatchObject({ result_count: null });
    expect(failed?.error_message).toMatch(/another user/);
    expect(failed?.operation_hash).toMatch(/^[0-9a-f]{64}$/);
  });
});
