import { setTimeout as sleep } from 'node:timers/promises';
import { openMemory } from '../../src';
import { flushAllBuffers } from '../../src/memory/buffered-writer';
import type { MemoryContext } from '../../src/memory/context';
import { MetricsRecorder } from '../../src/memory/metrics';
import { storeBundle } from '../../src/retrieval/cache';
import { hashEmbedder } from '../helpers/hash-embedder';
import { onDatabase, testTargets, useFreshSchema } from '../helpers/databases';

/** deleteUserData leaves nothing behind and nothing comes back: buffers, caches in flight, generations, events. */
describe.each(testTargets(__filename))('erasing a user on $name', ({ name, config }) => {
  const schema = `"${config.schema}"`;
  let now = new Date('2030-01-01T00:00:00Z');
  const chat = openMemory({ ...config, embeddings: hashEmbedder(), memory: { clock: () => now } });
  // The nodes open one store per node: deletion runs from another store than the chat.
  const maintenance = openMemory({ ...config, memory: { clock: () => now } });
  const q = <T = Record<string, unknown>>(text: string, values: unknown[] = []) => onDatabase(config, async (db) => (await db.query<T>(text, values)).rows);
  /** The user's memory generation, as a retrieval reads it when its search begins. */
  const generationOf = async (userId: string) => Number((await q<{ generation: string }>(`SELECT generation FROM ${schema}.ltst_user_state WHERE user_id = $1`, [userId]))[0]?.generation ?? 0);

  /** Rows of `user` in every table of the schema that has a user_id column. */
  async function rowsOf(user: string): Promise<Record<string, number>> {
    const tables = await q<{ table_name: string }>(`SELECT table_name FROM information_schema.columns WHERE table_schema = $1 AND column_name = 'user_id' AND table_name IN (SELECT table_name FROM information_schema.tables WHERE table_schema = $1 AND table_type = 'BASE TABLE') ORDER BY 1`, [config.schema]);
    expect(tables.map((t) => t.table_name)).toEqual(expect.arrayContaining(['event_ledger', 'ltst_user_state', 'memory_performance_metrics', 'memory_retrieval_cache']));
    const found: Record<string, number> = {};
    for (const { table_name } of tables) {
      const [{ n }] = await q<{ n: number }>(`SELECT count(*)::int AS n FROM ${schema}.${table_name} WHERE user_id = $1`, [user]);
      if (n > 0) found[table_name] = n;
    }
    return found;
  }

  const say = (user: string, sessionId: string, content: string) => chat.storeMessage({ userId: user, sessionId, role: 'human', content });
  const ctx = { schema } as MemoryContext;

  useFreshSchema(config);

  it('writes the metrics every store of the process holds before it deletes, so none reappear later', async () => {
    await say('dana', 'dana-1', 'my diagnosis is flu');
    await chat.retrieveContext({ userId: 'dana', query: 'diagnosis' });
    await chat.logEvent({ eventType: 'followup', userId: 'dana', eventData: { about: 'flu' } });
    await chat.logEvent({ eventType: 'followup', userId: 'erin' });
    expect(Object.keys(await rowsOf('dana')).sort()).toEqual(['conversation_messages', 'conversation_sessions', 'event_ledger', 'ltst_message_terms', 'ltst_user_state', 'memory_retrieval_cache']);

    const deleted = await maintenance.deleteUserData('dana');
    expect(deleted).toMatchObject({ messages: 1, sessions: 1, events: 1 });
    // The chat store's buffers would have written its metrics about a second later.
    await sleep(1_300);
    await flushAllBuffers();
    expect(await rowsOf('dana')).toEqual({});
    expect(await rowsOf('erin')).toEqual({ event_ledger: 1, memory_performance_metrics: 1 });
  });

  it('drops a metric that another process measured before the erasure and writes after it', async () => {
    await say('finn', 'finn-1', 'hello');
    // Another process's recorder: its own buffer, its own clock.
    const otherProcess = new MetricsRecorder(schema, (work) => onDatabase(config, work), (message) => { throw new Error(message); }, () => now);
    otherProcess.record({ operationType: 'retrieve_context', userId: 'finn', executionTimeMs: 3 });
    await maintenance.deleteUserData('finn');
    now = new Date(now.getTime() + 1_000);
    otherProcess.record({ operationType: 'store_messages', userId: 'finn', executionTimeMs: 2 });
    await otherProcess.flush();
    // Only the operation after the erasure (the user came back) is recorded.
    expect(await q(`SELECT operation_type FROM ${schema}.memory_performance_metrics WHERE user_id = 'finn'`)).toEqual([{ operation_type: 'store_messages' }]);
    // The erasure is kept by the id's hash only, and cleanExpired forgets it after a day.
    const [erasure] = await q<{ user_hash: string }>(`SELECT user_hash FROM ${schema}.ltst_erased_users`);
    expect(erasure.user_hash).toMatch(/^[0-9a-f]{64}$/);
    now = new Date(now.getTime() + 25 * 3_600_000);
    expect(await maintenance.cleanExpired()).toMatchObject({ erasures: 2 });
    expect(await q(`SELECT 1 FROM ${schema}.ltst_erased_users`)).toEqual([]);
  });

  it('never caches a retrieval that began before the erasure, and generations never restart', async () => {
    await say('gina', 'gina-1', 'my diagnosis is flu');
    const before = await generationOf('gina');
    await maintenance.deleteUserData('gina');
    // A retrieval that read the generation before the deletion finishes after it.
    await onDatabase(config, (db) =>
      storeBundle(db, ctx, { requestKey: 'late', generation: before, userId: 'gina', sessionId: null, query: 'diagnosis', bundle: { prompt: 'my diagnosis is flu' }, scores: {}, retrievalTimeMs: 1, now, expiresBy: null }),
    );
    expect(await rowsOf('gina')).toEqual({});
    // The user comes back: new generations, past any they had, so no old cache key matches.
    await say('gina', 'gina-2', 'hello again');
    await say('gina', 'gina-2', 'what do you know about me?');
    expect(await generationOf('gina')).toBeGreaterThan(before);
    const bundle = await chat.retrieveContext({ userId: 'gina', query: 'diagnosis' });
    expect(bundle.stats.cacheHit).toBe(false);
    expect(JSON.stringify(bundle)).not.toContain('flu');
  });

  it('a cached bundle expires no later than the first context entry it holds', async () => {
    await say('hugo', 'hugo-1', 'book a table for tonight');
    await chat.setContext({ userId: 'hugo', sessionId: 'hugo-1', type: 'task', key: 'booking', value: 'table at 8pm, code 4711', ttlSeconds: 60 });
    const request = { userId: 'hugo', sessionId: 'hugo-1', query: 'table tonight' };
    const first = await chat.retrieveContext(request);
    expect(first.context.map((c) => c.value)).toEqual(['table at 8pm, code 4711']);
    expect((await chat.retrieveContext(request)).stats.cacheHit).toBe(true);
    const [row] = await q<{ expires_at: Date }>(`SELECT expires_at FROM ${schema}.memory_retrieval_cache WHERE user_id = 'hugo'`);
    expect(new Date(row.expires_at).getTime()).toBe(now.getTime() + 60_000);

    now = new Date(now.getTime() + 30 * 60_000);
    const later = await chat.retrieveContext(request);
    expect(later.stats.cacheHit).toBe(false);
    expect(later.context).toEqual([]);
    expect(later.prompt).not.toContain('4711');
  });

  it('events carry an optional user id: exported and deleted with that user only', async () => {
    await chat.logEvent({ eventType: 'reminder', userId: 'ivan', eventData: { note: 'call back' } });
    await chat.logEvent({ eventType: 'reminder', eventData: { note: 'nobody in particular' } });
    const exported = await maintenance.exportUserData('ivan');
    expect(exported.events).toEqual([expect.objectContaining({ eventType: 'reminder', userId: 'ivan', eventData: { note: 'call back' } })]);
    const claimed = await chat.claimEvents({ eventTypes: ['reminder'], limit: 10 });
    expect(claimed.map((e) => e.userId).sort()).toEqual(['ivan', null]);
    await expect(chat.logEvent({ eventType: 'x', userId: 42 as unknown as string })).rejects.toMatchObject({ code: 'INVALID_INPUT', field: 'userId' });
    expect(await maintenance.deleteUserData('ivan')).toMatchObject({ events: 1 });
    expect(await q(`SELECT event_data FROM ${schema}.event_ledger WHERE event_type = 'reminder'`)).toEqual([{ event_data: { note: 'nobody in particular' } }]);
  });

  if (name === 'postgres') {
    it('a retrieval that read the user before the deletion and finishes after it caches nothing', async () => {
      // The retrieval is held inside its transaction, after it read the generation, by a lock on
      // the documents table, which the deletion never touches.
      await q(`CREATE TABLE ${schema}.erasure_docs (content text NOT NULL, embedding public.vector(384))`);
      const recall = openMemory({ ...config, embeddings: hashEmbedder(), documents: { table: `${config.schema}.erasure_docs` }, memory: { clock: () => now } });
      await say('kate', 'kate-1', 'my diagnosis is flu');
      await recall.retrieveContext({ userId: 'kate', query: 'warm up', includeDocuments: true, useCache: false });
      let release!: () => void;
      const released = new Promise<void>((resolve) => (release = resolve));
      let locked!: () => void;
      const lockTaken = new Promise<void>((resolve) => (locked = resolve));
      const holder = onDatabase(config, (db) =>
        db.transaction(async (tx) => {
          await tx.query(`LOCK TABLE ${schema}.erasure_docs IN ACCESS EXCLUSIVE MODE`);
          locked();
          await released;
        }),
      );
      await lockTaken;
      const retrieval = recall.retrieveContext({ userId: 'kate', query: 'diagnosis', includeDocuments: true });
      try {
        // Wait until the retrieval waits for the lock.
        for (let i = 0; i < 100; i += 1) {
          const [waiting] = await q<{ n: number }>(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%erasure_docs%' AND datname = current_database()`);
          if (waiting.n > 0) break;
          await sleep(20);
        }
        expect(await maintenance.deleteUserData('kate')).toMatchObject({ messages: 1 });
      } finally {
        release();
        await holder;
      }
      // It answers from what it read, but leaves no cache row behind.
      expect((await retrieval).stats.cacheHit).toBe(false);
      await flushAllBuffers();
      expect(await rowsOf('kate')).toEqual({});
      await q(`DROP TABLE ${schema}.erasure_docs`);
    });

    it('a cache write in flight holds the deletion back until it commits, and is then deleted with the rest', async () => {
      // PGlite has one connection, so only a server can interleave two transactions.
      await say('jack', 'jack-1', 'my password hint is blue');
      const generation = await generationOf('jack');
      let release!: () => void;
      const released = new Promise<void>((resolve) => (release = resolve));
      let cached!: () => void;
      let failed!: (error: unknown) => void;
      const written = new Promise<void>((resolve, reject) => ((cached = resolve), (failed = reject)));
      const retrieval = onDatabase(config, (db) =>
        db.transaction(async (tx) => {
          await storeBundle(tx, ctx, { requestKey: 'inflight', generation, userId: 'jack', sessionId: null, query: 'hint', bundle: { prompt: 'blue' }, scores: {}, retrievalTimeMs: 1, now, expiresBy: null });
          cached();
          await released;
        }),
      ).catch(failed);
      await written;
      let deletionDone = false;
      const deletion = maintenance.deleteUserData('jack').then((result) => ((deletionDone = true), result));
      await sleep(300);
      const waited = !deletionDone;
      release();
      await retrieval;
      expect(waited).toBe(true);
      expect(await deletion).toMatchObject({ cache: 1, messages: 1 });
      expect(await rowsOf('jack')).toEqual({});
    });
  }
});
