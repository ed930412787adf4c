import { createHash } from 'node:crypto';
import { openMemory } from '../../src';
import { ltstErrorOf, onDatabase, testTargets, useFreshSchema } from '../helpers/databases';

const sha = (text: string) => createHash('sha256').update(text).digest('hex');

describe.each(testTargets(__filename))('storeMessages on $name', ({ name, config }) => {
  const store = openMemory({ ...config, memory: { maxContentBytes: 1000 } });
  const s = `"${config.schema}"`;
  const rows = <T>(text: string, values: unknown[] = []) => onDatabase(config, async (db) => (await db.query<T>(text, values)).rows);
  const messageCount = async () => Number((await rows<{ n: string }>(`SELECT count(*) AS n FROM ${s}.conversation_messages`))[0].n);

  useFreshSchema(config);

  it('creates the session on first use, owned by the user, with hashes and the event time kept', async () => {
    const [stored] = await store.storeMessages([{ userId: 'alice', sessionId: 'a1', role: 'human', content: 'I like green tea', timestamp: '2023-05-08T13:56:00Z', metadata: { source: 'chat' } }]);
    expect(stored).toMatchObject({ userId: 'alice', sessionId: 'a1', messageIndex: 0, role: 'human', messageType: 'message', contentHash: sha('I like green tea'), contextHash: sha(`a1\u0000human\u0000${sha('I like green tea')}`), metadata: { source: 'chat' }, duplicate: false });
    expect(stored.timestamp.toISOString()).toBe('2023-05-08T13:56:00.000Z');
    expect(stored.createdAt.getTime()).toBeGreaterThan(stored.timestamp.getTime());
    expect(await store.getSession('alice', 'a1')).toMatchObject({ userId: 'alice', sessionLength: 1, status: 'active' });
  });

  it('assigns gap-free indexes under 8 concurrent writers (200 messages each)', async () => {
    await Promise.all(
      Array.from({ length: 8 }, async (_, writer) => {
        for (let i = 0; i < 200; i += 1) await store.storeMessage({ userId: 'alice', sessionId: 'busy', role: 'human', content: `w${writer} m${i}` });
      }),
    );
    const indexes = (await rows<{ i: number }>(`SELECT message_index AS i FROM ${s}.conversation_messages WHERE session_id = 'busy' ORDER BY 1`)).map((r) => r.i);
    expect(indexes).toEqual(Array.from({ length: 1600 }, (_, i) => i));
    expect(await store.getSession('alice', 'busy')).toMatchObject({ sessionLength: 1600 });
  });

  it('returns the stored message for a retried idempotency key, also under concurrent retries', async () => {
    const message = { userId: 'alice', sessionId: 'a1', role: 'ai' as const, content: 'Noted: green tea', idempotencyKey: 'exec-1-node-2-item-0' };
    const retries = await Promise.all([0, 1, 2, 3].map(() => store.storeMessage(message)));
    expect(new Set(retries.map((m) => m.messageId)).size).toBe(1);
    expect(retries.filter((m) => !m.duplicate)).toHaveLength(1);
    const again = await store.storeMessages([message, message]); // other content: IDEMPOTENCY_CONFLICT (idempotency.test.ts)
    expect(again.map((m) => [m.messageId, m.duplicate])).toEqual([[retries[0].messageId, true], [retries[0].messageId, true]]);
    expect((await rows(`SELECT 1 FROM ${s}.conversation_messages WHERE idempotency_key = $1`, [message.idempotencyKey])).length).toBe(1);
    expect(await store.getSession('alice', 'a1')).toMatchObject({ sessionLength: 2 });
  });

  it('stores a batch in input order across sessions, a repeated key inside it once', async () => {
    const batch = await store.storeMessages([
      { userId: 'bob', sessionId: 'b1', role: 'human', content: 'one', idempotencyKey: 'k1' },
      { userId: 'bob', sessionId: 'b2', role: 'human', content: 'two' },
      { userId: 'bob', sessionId: 'b1', role: 'ai', content: 'three' },
      { userId: 'bob', sessionId: 'b1', role: 'human', content: 'one', idempotencyKey: 'k1' },
    ]);
    expect(batch.map((m) => [m.sessionId, m.messageIndex, m.content, m.duplicate])).toEqual([
      ['b1', 0, 'one', false], ['b2', 0, 'two', false], ['b1', 1, 'three', false], ['b1', 0, 'one', true],
    ]);
  });

  it("refuses another user's session, and writes nothing of that batch", async () => {
    const before = await messageCount();
    const error = await ltstErrorOf(store.storeMessages([
      { userId: 'mallory', sessionId: 'm1', role: 'human', content: 'fine' },
      { userId: 'mallory', sessionId: 'a1', role: 'human', content: 'let me in' },
    ]));
    expect(error).toMatchObject({ code: 'FORBIDDEN', message: 'Session "a1" belongs to another user' });
    expect(await messageCount()).toBe(before);
    expect(await store.getSession('mallory', 'm1')).toBeNull();
    await expect(store.getSession('mallory', 'a1')).rejects.toMatchObject({ code: 'FORBIDDEN' });
  });

  it('threads a reply to a parent of the same session, and refuses a parent from another session', async () => {
    const [parent] = await store.storeMessages([{ userId: 'bob', sessionId: 'b1', role: 'human', content: 'question' }]);
    const [reply] = await store.storeMessages([{ userId: 'bob', sessionId: 'b1', role: 'ai', content: 'answer', parentMessageId: parent.messageId }]);
    expect(reply.parentMessageId).toBe(parent.messageId);
    const error = await ltstErrorOf(store.storeMessages([{ userId: 'bob', sessionId: 'b2', role: 'ai', content: 'x', parentMessageId: parent.messageId }]));
    expect(error).toMatchObject({ code: 'INVALID_INPUT', field: 'messages[0].parentMessageId', itemIndex: 0 });
  });

  const bad: Array<[string, Record<string, unknown>, string]> = [
    ['an empty user id', { userId: ' ' }, 'messages[1].userId'],
    ['a missing session id', { sessionId: undefined }, 'messages[1].sessionId'],
    ['an unknown role', { role: 'robot' }, 'messages[1].role'],
    ['content over the size limit', { content: 'x'.repeat(1001) }, 'messages[1].content'],
    ['metadata that is not an object', { metadata: ['a'] }, 'messages[1].metadata'],
    ['an embedding of the wrong dimension', { embedding: [1, 2, 3] }, 'messages[1].embedding'],
    ['an embedding with NaN', { embedding: Array.from({ length: 384 }, (_, i) => (i === 7 ? Number.NaN : 0.1)) }, 'messages[1].embedding'],
    ['a timestamp that is not a date', { timestamp: 'yesterday-ish' }, 'messages[1].timestamp'],
  ];
  it.each(bad)('refuses %s, naming the field, and writes nothing of the batch', async (_label, change, field) => {
    const before = await messageCount();
    const good = { userId: 'carol', sessionId: 'c1', role: 'human', content: 'ok' };
    const error = await ltstErrorOf(store.storeMessages([good, { ...good, ...change }] as never));
    expect(error).toMatchObject({ code: 'INVALID_INPUT', field });
    expect(error.message.startsWith(field)).toBe(true);
    expect(error.hint).toBeTruthy();
    expect(await messageCount()).toBe(before);
  });

  it('stores an embedding of the schema dimension', async () => {
    const embedding = Array.from({ length: 384 }, (_, i) => (i % 2 ? 0.5 : -0.25));
    const [stored] = await store.storeMessages([{ userId: 'dave', sessionId: 'd1', role: 'human', content: 'vector', embedding }]);
    const [row] = await rows<{ e: string }>(`SELECT embedding::text AS e FROM ${s}.conversation_messages WHERE message_id = $1`, [stored.messageId]);
    expect(JSON.parse(row.e)).toEqual(embedding);
  });

  it('records a metric for each call, failed ones with their error', async () => {
    await store.flush();
    const metrics = await rows<{ n: string; failed: string }>(
      `SELECT count(*) AS n, count(error_message) AS failed FROM ${s}.memory_performance_metrics WHERE operation_type = 'store_messages'`,
    );
    expect(Number(metrics[0].n)).toBeGreaterThan(1600);
    expect(Number(metrics[0].failed)).toBeGreaterThanOrEqual(bad.length + 2);
    void name;
  });
});
