import { openMemory, type StoreMessageInput } from '../../src';
import { ltstErrorOf, onDatabase, testTargets, useFreshSchema } from '../helpers/databases';

/** 12 users, 3 sessions each, 25 turns per session, interleaved the way an export of many chats is. */
function history(prefix: string, withKeys = true): StoreMessageInput[] {
  const out: StoreMessageInput[] = [];
  for (let turn = 0; turn < 25; turn++) {
    for (let u = 0; u < 12; u++) {
      for (let s = 0; s < 3; s++) {
        const sessionId = `${prefix}-u${u}-s${s}`;
        out.push({
          userId: `${prefix}-u${u}`,
          sessionId,
          role: turn % 2 === 0 ? 'human' : 'ai',
          content: `turn ${turn} of ${sessionId}: ${turn % 5 === 0 ? 'the lighthouse keeper' : 'weather and tides'}`,
          timestamp: new Date(Date.UTC(2024, 0, 1 + s, 0, turn)),
          idempotencyKey: withKeys ? `${sessionId}:${turn}` : undefined,
          embedding: Array.from({ length: 384 }, (_, d) => Math.cos(turn + u * 7 + s * 13 + d)),
        });
      }
    }
  }
  return out;
}

describe.each(testTargets(__filename))('importMessages on $name', ({ config }) => {
  useFreshSchema(config);
  const s = `"${config.schema}"`;
  const sql = <Row,>(text: string, values: unknown[] = []) => onDatabase(config, async (db) => (await db.query<Row>(text, values)).rows);
  const sessionsOf = (prefix: string) =>
    sql<{ session_id: string; session_length: number; turns: number[]; indexes: number[] }>(
      `SELECT s.session_id, s.session_length,
              array_agg(split_part(split_part(m.content, ' of ', 1), ' ', 2)::int ORDER BY m.message_index) AS turns,
              array_agg(m.message_index ORDER BY m.message_index) AS indexes
         FROM ${s}.conversation_sessions s JOIN ${s}.conversation_messages m USING (session_id)
        WHERE s.session_id LIKE $1 GROUP BY s.session_id, s.session_length`,
      [`${prefix}-%`],
    );
  const indexDefinition = async () =>
    (await sql<{ def: string }>(`SELECT pg_get_indexdef(to_regclass($1)) AS def`, [`${s}.idx_conversation_messages_embedding`]))[0].def;

  it('stores every message once, each session in input order with gap-free indexes, across concurrent batches', async () => {
    const store = openMemory(config);
    const input = history('a');
    const report = await store.importMessages(input, { batchSize: 40, concurrency: 3 });
    expect(report).toMatchObject({ read: 900, written: 900, duplicates: 0, vectorIndex: { rebuilt: false } });

    const sessions = await sessionsOf('a');
    expect(sessions).toHaveLength(36);
    for (const session of sessions) {
      expect(session.turns).toEqual(Array.from({ length: 25 }, (_, t) => t));
      expect(session.indexes).toEqual(Array.from({ length: 25 }, (_, t) => t));
      expect(session.session_length).toBe(25);
    }
    // The statistics and the term index follow, as for storeMessages: the search finds the turns.
    const [state] = await sql<{ message_count: string }>(`SELECT message_count FROM ${s}.ltst_user_state WHERE user_id = 'a-u3'`);
    expect(Number(state.message_count)).toBe(75);
    const found = await store.retrieveContext({ userId: 'a-u3', query: 'lighthouse keeper', topK: 20, useCache: false });
    expect(found.relevantMessages.filter((m) => m.content.includes('lighthouse'))).toHaveLength(15);
  });

  it('run again, stores nothing: every message is a duplicate by its idempotency key', async () => {
    const report = await openMemory(config).importMessages(history('a'), { batchSize: 100 });
    expect(report).toMatchObject({ read: 900, written: 0, duplicates: 900 });
    expect((await sessionsOf('a')).every((session) => session.session_length === 25)).toBe(true);
  });

  it('takes an async iterable, reading it once', async () => {
    let reads = 0;
    async function* stream() {
      for (const message of history('b')) {
        reads += 1;
        yield message;
      }
    }
    const report = await openMemory(config).importMessages(stream(), { batchSize: 64 });
    expect(report).toMatchObject({ read: 900, written: 900 });
    expect(reads).toBe(900);
  });

  it('refuses a bad message by its place in the whole input, after what is in flight; a rerun stores the rest once', async () => {
    const store = openMemory(config);
    const input = history('c');
    input[500] = { ...input[500], content: 42 as never };
    const error = await ltstErrorOf(store.importMessages(input, { batchSize: 50, concurrency: 2 }));
    expect(error).toMatchObject({ code: 'INVALID_INPUT', field: 'messages[500].content', itemIndex: 500 });
    const storedBefore = Number(error.hint?.match(/(\d+) messages were stored before it; with idempotency keys, running the import again stores only the rest/)?.[1]);
    expect(storedBefore).toBeGreaterThan(0);
    expect(storedBefore).toBeLessThan(900);

    input[500] = history('c')[500];
    const rerun = await store.importMessages(input, { batchSize: 50 });
    expect(rerun).toMatchObject({ written: 900 - storedBefore, duplicates: storedBefore });
    const sessions = await sessionsOf('c');
    expect(sessions.map((session) => session.turns)).toEqual(sessions.map(() => Array.from({ length: 25 }, (_, t) => t)));
  });

  it("refuses another user's session, naming the message, and writes nothing of that batch", async () => {
    const store = openMemory(config);
    await store.storeMessage({ userId: 'owner', sessionId: 'taken', role: 'human', content: 'mine' });
    const error = await ltstErrorOf(
      store.importMessages([
        { userId: 'intruder', sessionId: 'fresh', role: 'human', content: 'hello' },
        { userId: 'intruder', sessionId: 'taken', role: 'human', content: 'let me in' },
      ], { concurrency: 1 }),
    );
    expect(error).toMatchObject({ code: 'FORBIDDEN', itemIndex: 1 });
    expect(await sql(`SELECT 1 FROM ${s}.conversation_messages WHERE user_id = 'intruder'`)).toEqual([]);
  });

  it('rebuilds the HNSW index after the load, as the schema defines it, also when the load fails', async () => {
    const store = openMemory(config);
    const before = await indexDefinition();
    expect(before).toContain('USING hnsw');

    const report = await store.importMessages(history('d'), { rebuildVectorIndex: true, indexBuildMemory: '64MB' });
    expect(report).toMatchObject({ written: 900, vectorIndex: { rebuilt: true } });
    expect(await indexDefinition()).toBe(before);

    const failing = history('e');
    failing[10] = { ...failing[10], role: 'narrator' as never };
    expect(await ltstErrorOf(store.importMessages(failing, { rebuildVectorIndex: true }))).toMatchObject({ field: 'messages[10].role' });
    expect(await indexDefinition()).toBe(before);
  });

  it('refuses input that is not a list and options out of range, naming the field', async () => {
    const store = openMemory(config);
    expect(await ltstErrorOf(store.importMessages(42 as never))).toMatchObject({ code: 'INVALID_INPUT', field: 'messages' });
    expect(await ltstErrorOf(store.importMessages([], { batchSize: 0 }))).toMatchObject({ code: 'INVALID_INPUT', field: 'batchSize' });
    expect(await ltstErrorOf(store.importMessages([], { concurrency: 99 }))).toMatchObject({ code: 'INVALID_INPUT', field: 'concurrency' });
    expect(await ltstErrorOf(store.importMessages([], { indexBuildMemory: "1GB'; DROP TABLE x; --" }))).toMatchObject({ code: 'INVALID_INPUT', field: 'indexBuildMemory' });
  });
});
