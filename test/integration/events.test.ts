import { openMemory } from '../../src';
import type { Database } from '../../src/db/database';
import { onDatabase, testTargets, useFreshSchema } from '../helpers/databases';

describe.each(testTargets(__filename))('event ledger on $name', ({ config }) => {
  const s = `"${config.schema}"`;
  const store = openMemory(config);
  const run = <T>(work: (db: Database) => Promise<T>) => onDatabase(config, work);
  const clear = () => run((db) => db.query(`DELETE FROM ${s}.event_ledger`));
  const row = (id: number) =>
    run(async (db) => (await db.query<Record<string, unknown>>(`SELECT status, retry_count, error_message, processed_at FROM ${s}.event_ledger WHERE event_id = $1`, [id])).rows[0]);

  useFreshSchema(config);
  beforeEach(clear);
  it('logs an event as pending and returns it in camelCase', async () => {
    const event = await store.logEvent({ eventType: 'session.created', eventData: { sessionId: 's1' }, priority: -2, maxRetries: 5, metadata: { source: 'test' } });
    expect(event).toMatchObject({
      eventType: 'session.created',
      eventData: { sessionId: 's1' },
      status: 'pending',
      priority: -2,
      retryCount: 0,
      maxRetries: 5,
      errorMessage: null,
      processedAt: null,
      metadata: { source: 'test' },
    });
    expect(typeof event.eventId).toBe('number');
    expect(event.createdAt).toBeInstanceOf(Date);
    expect(await store.logEvent({ eventType: 'plain' })).toMatchObject({ eventData: {}, priority: 0, maxRetries: 3, metadata: {} });
  });

  it('claims by priority, then age, and only once', async () => {
    const low = await store.logEvent({ eventType: 't', priority: 1 });
    const highOld = await store.logEvent({ eventType: 't', priority: 5 });
    const highNew = await store.logEvent({ eventType: 't', priority: 5 });
    const mid = await store.logEvent({ eventType: 't', priority: 3 });
    // Make the age order explicit rather than relying on clock resolution.
    await run((db) => db.query(`UPDATE ${s}.event_ledger SET created_at = created_at - interval '1 minute' WHERE event_id = $1`, [highOld.eventId]));
    const first = await store.claimEvents({ limit: 3 });
    expect(first.map((e) => e.eventId)).toEqual([highOld.eventId, highNew.eventId, mid.eventId]);
    expect(first.every((e) => e.status === 'processing')).toBe(true);
    expect((await store.claimEvents({ limit: 10 })).map((e) => e.eventId)).toEqual([low.eventId]);
    expect(await store.claimEvents({ limit: 10 })).toEqual([]);
  });

  it('filters by event type', async () => {
    const a = await store.logEvent({ eventType: 'a' });
    const b = await store.logEvent({ eventType: 'b', priority: 9 });
    const c = await store.logEvent({ eventType: 'c' });
    const claimed = await store.claimEvents({ eventTypes: ['a', 'c'], limit: 10 });
    expect(claimed.map((e) => e.eventId).sort((x, y) => x - y)).toEqual([a.eventId, c.eventId]);
    expect(await row(b.eventId)).toMatchObject({ status: 'pending' });
    expect((await store.claimEvents({ eventTypes: ['b'], limit: 10 })).map((e) => e.eventId)).toEqual([b.eventId]);
  });

  it('hands every event to exactly one of 4 concurrent workers', async () => {
    await run((db) =>
      db.query(`INSERT INTO ${s}.event_ledger (event_type, priority, event_data) SELECT 'job', i % 7, jsonb_build_object('i', i) FROM generate_series(1, 200) i`),
    );
    const claimedBy: number[][] = [[], [], [], []];
    for (;;) {
      const batches = await Promise.all(claimedBy.map(() => store.claimEvents({ eventTypes: ['job'], limit: 7 })));
      batches.forEach((batch, worker) => claimedBy[worker].push(...batch.map((e) => e.eventId)));
      if (batches.every((batch) => batch.length === 0)) break;
    }
    const all = claimedBy.flat();
    expect(all).toHaveLength(200);
    expect(new Set(all).size).toBe(200);
    const ids = await run(async (db) => (await db.query<{ event_id: string }>(`SELECT event_id FROM ${s}.event_ledger`)).rows.map((r) => Number(r.event_id)));
    expect([...all].sort((x, y) => x - y)).toEqual(ids.sort((x, y) => x - y));
    expect(await run(async (db) => (await db.query(`SELECT 1 FROM ${s}.event_ledger WHERE status <> 'processing'`)).rows)).toEqual([]);
  });

  it('completes a processing event once', async () => {
    const { eventId } = await store.logEvent({ eventType: 'done' });
    await expect(store.completeEvent(eventId)).rejects.toMatchObject({ code: 'INVALID_INPUT', field: 'eventId', message: expect.stringContaining('is pending, not processing') });
    await store.claimEvents({ limit: 1 });
    const done = await store.completeEvent(eventId);
    expect(done).toMatchObject({ eventId, status: 'done' });
    expect(done.processedAt).toBeInstanceOf(Date);
    await expect(store.completeEvent(eventId)).rejects.toMatchObject({ code: 'INVALID_INPUT', message: expect.stringContaining('is done') });
    await expect(store.failEvent(eventId, 'late')).rejects.toMatchObject({ code: 'INVALID_INPUT' });
  });

  it('retries a failed event until max_retries, then marks it failed', async () => {
    const { eventId } = await store.logEvent({ eventType: 'flaky', maxRetries: 2 });
    await store.claimEvents({ limit: 1 });
    const first = await store.failEvent(eventId, 'timeout');
    expect(first).toMatchObject({ status: 'pending', retryCount: 1, processedAt: null });
    expect((await store.claimEvents({ limit: 1 })).map((e) => e.eventId)).toEqual([eventId]);
    const second = await store.failEvent(eventId, 'still broken');
    expect(second).toMatchObject({ status: 'failed', retryCount: 2, errorMessage: 'still broken' });
    expect(second.processedAt).toBeInstanceOf(Date);
    expect(await store.claimEvents({ limit: 1 })).toEqual([]);
    expect(await row(eventId)).toMatchObject({ status: 'failed', retry_count: 2, error_message: 'still broken' });
  });

  it('fails at once with maxRetries 0', async () => {
    const { eventId } = await store.logEvent({ eventType: 'once', maxRetries: 0 });
    await store.claimEvents({ limit: 1 });
    expect(await store.failEvent(eventId, 'no')).toMatchObject({ status: 'failed', retryCount: 1 });
  });

  it('refuses unknown event ids with NOT_FOUND', async () => {
    await expect(store.completeEvent(987654321)).rejects.toMatchObject({ code: 'NOT_FOUND', message: expect.stringContaining('does not exist') });
    await expect(store.failEvent('987654321', 'x')).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('refuses bad input naming the field, and writes nothing', async () => {
    const bad: [() => Promise<unknown>, string][] = [
      [() => store.logEvent({ eventType: '' }), 'eventType'],
      [() => store.logEvent({ eventType: 'x', eventData: [] as unknown as Record<string, unknown> }), 'eventData'],
      [() => store.logEvent({ eventType: 'x', metadata: 'text' as unknown as Record<string, unknown> }), 'metadata'],
      [() => store.logEvent({ eventType: 'x', priority: 1.5 }), 'priority'],
      [() => store.logEvent({ eventType: 'x', maxRetries: -1 }), 'maxRetries'],
      [() => store.claimEvents({ limit: 0 }), 'limit'],
      [() => store.claimEvents({ limit: 1001 }), 'limit'],
      [() => store.claimEvents({} as { limit: number }), 'limit'],
      [() => store.claimEvents({ limit: 1, eventTypes: [] }), 'eventTypes'],
      [() => store.claimEvents({ limit: 1, eventTypes: ['ok', ''] }), 'eventTypes[1]'],
      [() => store.completeEvent(0), 'eventId'],
      [() => store.completeEvent('abc'), 'eventId'],
      [() => store.failEvent(1.5, 'x'), 'eventId'],
      [() => store.failEvent(1, undefined as unknown as string), 'error'],
    ];
    for (const [call, field] of bad) await expect(call()).rejects.toMatchObject({ code: 'INVALID_INPUT', field });
    expect(await run(async (db) => (await db.query(`SELECT 1 FROM ${s}.event_ledger`)).rows)).toEqual([]);
  });
});
