import { randomUUID } from 'node:crypto';
import { openMemory, type EventClaim } from '../../src';
import type { Database } from '../../src/db/database';
import { ltstErrorOf, onDatabase, testTargets, useFreshSchema } from '../helpers/databases';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** A 1 s lease has surely run out after this long. */
const LEASE_PASSED_MS = 1_200;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

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

  it('completes a processing event once, with the token of its claim', async () => {
    const { eventId } = await store.logEvent({ eventType: 'done' });
    await expect(store.completeEvent({ eventId, claimToken: randomUUID() })).rejects.toMatchObject({ code: 'INVALID_INPUT', field: 'eventId', message: expect.stringContaining('is pending, not processing') });
    const [claimed] = await store.claimEvents({ limit: 1 });
    const done = await store.completeEvent(claimed);
    expect(done).toMatchObject({ eventId, status: 'done', claimToken: claimed.claimToken });
    expect(done.processedAt).toBeInstanceOf(Date);
    await expect(store.completeEvent(claimed)).rejects.toMatchObject({ code: 'INVALID_INPUT', message: expect.stringContaining('is done') });
    await expect(store.failEvent(claimed, 'late')).rejects.toMatchObject({ code: 'INVALID_INPUT' });
  });

  it('retries a failed event until max_retries, then marks it failed', async () => {
    const { eventId } = await store.logEvent({ eventType: 'flaky', maxRetries: 2 });
    const [claim1] = await store.claimEvents({ limit: 1 });
    const first = await store.failEvent(claim1, 'timeout');
    expect(first).toMatchObject({ status: 'pending', retryCount: 1, processedAt: null });
    // The same claim cannot fail it twice.
    await expect(store.failEvent(claim1, 'again')).rejects.toMatchObject({ code: 'INVALID_INPUT', message: expect.stringContaining('is pending, not processing') });
    const [claim2] = await store.claimEvents({ limit: 1 });
    expect(claim2.eventId).toBe(eventId);
    expect(claim2.claimToken).not.toBe(claim1.claimToken);
    const second = await store.failEvent(claim2, 'still broken');
    expect(second).toMatchObject({ status: 'failed', retryCount: 2, errorMessage: 'still broken' });
    expect(second.processedAt).toBeInstanceOf(Date);
    expect(await store.claimEvents({ limit: 1 })).toEqual([]);
    expect(await row(eventId)).toMatchObject({ status: 'failed', retry_count: 2, error_message: 'still broken' });
  });

  it('fails at once with maxRetries 0', async () => {
    await store.logEvent({ eventType: 'once', maxRetries: 0 });
    const [claimed] = await store.claimEvents({ limit: 1 });
    expect(await store.failEvent(claimed, 'no')).toMatchObject({ status: 'failed', retryCount: 1 });
  });

  it('refuses unknown event ids with NOT_FOUND', async () => {
    await expect(store.completeEvent({ eventId: 987654321, claimToken: randomUUID() })).rejects.toMatchObject({ code: 'NOT_FOUND', message: expect.stringContaining('does not exist') });
    await expect(store.failEvent({ eventId: '987654321', claimToken: randomUUID() }, 'x')).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('gives each claimed event its own claim token and a lease, 5 minutes unless told', async () => {
    await store.logEvent({ eventType: 'lease' });
    await store.logEvent({ eventType: 'lease' });
    const claimed = await store.claimEvents({ limit: 2 });
    expect(claimed.map((e) => e.claimToken)).toEqual([expect.stringMatching(UUID), expect.stringMatching(UUID)]);
    expect(new Set(claimed.map((e) => e.claimToken)).size).toBe(2);
    for (const event of claimed) expect(event.leaseExpiresAt.getTime() - event.claimedAt.getTime()).toBe(300_000);
    await store.logEvent({ eventType: 'lease' });
    const [short] = await store.claimEvents({ limit: 1, leaseSeconds: 30 });
    expect(short.leaseExpiresAt.getTime() - short.claimedAt.getTime()).toBe(30_000);
  });

  it('takes back the event of a worker that died once its lease expired, as a retry; the dead worker cannot finish it', async () => {
    const { eventId } = await store.logEvent({ eventType: 'job', maxRetries: 3 });
    const [dead] = await store.claimEvents({ limit: 1, leaseSeconds: 1 });
    // Within the lease nobody else gets it.
    expect(await store.claimEvents({ limit: 1 })).toEqual([]);
    await sleep(LEASE_PASSED_MS);
    const [taken] = await store.claimEvents({ limit: 1 });
    expect(taken).toMatchObject({ eventId, status: 'processing', retryCount: 1, errorMessage: expect.stringContaining('lease expired') });
    expect(taken.claimToken).not.toBe(dead.claimToken);
    const stale = await ltstErrorOf(store.completeEvent(dead));
    expect(stale).toMatchObject({ code: 'STALE_CLAIM', message: expect.stringContaining(`Event ${eventId} cannot be completed with this claim token: another claim holds it now`) });
    expect(stale.hint).toMatch(/raise leaseSeconds/);
    await expect(store.failEvent(dead, 'late')).rejects.toMatchObject({ code: 'STALE_CLAIM', message: expect.stringContaining(`Event ${eventId} cannot be failed`) });
    expect(await store.completeEvent(taken)).toMatchObject({ eventId, status: 'done', retryCount: 1 });
    expect(await row(eventId)).toMatchObject({ status: 'done', retry_count: 1 });
  });

  it('marks failed an expired event that has no retries left, and refuses its stale claim', async () => {
    const { eventId } = await store.logEvent({ eventType: 'job', maxRetries: 1 });
    const [dead] = await store.claimEvents({ limit: 1, leaseSeconds: 1 });
    await sleep(LEASE_PASSED_MS);
    expect(await store.claimEvents({ limit: 5 })).toEqual([]);
    expect(await row(eventId)).toMatchObject({ status: 'failed', retry_count: 1, error_message: expect.stringContaining('lease expired'), processed_at: expect.any(Date) });
    await expect(store.completeEvent(dead)).rejects.toMatchObject({ code: 'STALE_CLAIM', message: expect.stringContaining('it is failed now') });
  });

  it('refuses a worker that completes late, after another claim took the event; lets it finish when none did', async () => {
    const { eventId } = await store.logEvent({ eventType: 'slow' });
    const [late] = await store.claimEvents({ limit: 1, leaseSeconds: 1 });
    await sleep(LEASE_PASSED_MS);
    const [next] = await store.claimEvents({ limit: 1, leaseSeconds: 60 });
    expect(next).toMatchObject({ eventId, retryCount: 1 });
    await expect(store.completeEvent(late)).rejects.toMatchObject({ code: 'STALE_CLAIM' });
    expect(await row(eventId)).toMatchObject({ status: 'processing' });
    expect(await store.completeEvent(next)).toMatchObject({ status: 'done' });

    // Past its lease but not taken back: the work is done, so the claim may still finish it.
    const { eventId: alone } = await store.logEvent({ eventType: 'slow' });
    const [overdue] = await store.claimEvents({ limit: 1, leaseSeconds: 1 });
    await sleep(LEASE_PASSED_MS);
    expect(await store.completeEvent(overdue)).toMatchObject({ eventId: alone, status: 'done', retryCount: 0 });
  });

  it('refuses a wrong claim token with STALE_CLAIM and changes nothing', async () => {
    const { eventId } = await store.logEvent({ eventType: 'mine' });
    const [held] = await store.claimEvents({ limit: 1 });
    await expect(store.completeEvent({ eventId, claimToken: randomUUID() })).rejects.toMatchObject({ code: 'STALE_CLAIM', message: expect.stringContaining(`Event ${eventId}`) });
    await expect(store.failEvent({ eventId, claimToken: randomUUID() }, 'x')).rejects.toMatchObject({ code: 'STALE_CLAIM' });
    expect(await row(eventId)).toMatchObject({ status: 'processing', retry_count: 0, error_message: null });
    expect(await store.completeEvent({ eventId: String(eventId), claimToken: held.claimToken.toUpperCase() })).toMatchObject({ status: 'done' });
  });

  it('hands every expired event back to exactly one of 4 concurrent claimers', async () => {
    await run((db) => db.query(`INSERT INTO ${s}.event_ledger (event_type) SELECT 'bulk' FROM generate_series(1, 60)`));
    expect(await store.claimEvents({ limit: 100, leaseSeconds: 1 })).toHaveLength(60);
    await sleep(LEASE_PASSED_MS);
    const batches = await Promise.all(Array.from({ length: 4 }, () => store.claimEvents({ eventTypes: ['bulk'], limit: 20 })));
    const ids = batches.flat().map((e) => e.eventId);
    expect(ids).toHaveLength(60);
    expect(new Set(ids).size).toBe(60);
    expect(new Set(batches.flat().map((e) => e.claimToken)).size).toBe(60);
    expect(await run(async (db) => (await db.query(`SELECT DISTINCT status, retry_count FROM ${s}.event_ledger`)).rows)).toEqual([{ status: 'processing', retry_count: 1 }]);
  });

  it('refuses bad input naming the field, and writes nothing', async () => {
    const token = randomUUID();
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
      [() => store.claimEvents({ limit: 1, leaseSeconds: 0 }), 'leaseSeconds'],
      [() => store.claimEvents({ limit: 1, leaseSeconds: 86_401 }), 'leaseSeconds'],
      [() => store.claimEvents({ limit: 1, leaseSeconds: 1.5 }), 'leaseSeconds'],
      [() => store.claimEvents({ limit: 1, leaseSeconds: '60' as unknown as number }), 'leaseSeconds'],
      [() => store.completeEvent({ eventId: 0, claimToken: token }), 'eventId'],
      [() => store.completeEvent({ eventId: 'abc', claimToken: token }), 'eventId'],
      [() => store.failEvent({ eventId: 1.5, claimToken: token }, 'x'), 'eventId'],
      [() => store.failEvent({ eventId: 1, claimToken: token }, undefined as unknown as string), 'error'],
      // The old call without a claim token is refused, not guessed.
      [() => store.completeEvent(1 as unknown as EventClaim), 'claim'],
      [() => store.completeEvent({ eventId: 1 } as EventClaim), 'claimToken'],
      [() => store.failEvent({ eventId: 1, claimToken: 'not-a-uuid' }, 'x'), 'claimToken'],
      [() => store.completeEvent({ eventId: 1, claimToken: `${token}'; DROP TABLE x` }), 'claimToken'],
    ];
    for (const [call, field] of bad) await expect(call()).rejects.toMatchObject({ code: 'INVALID_INPUT', field });
    expect(await run(async (db) => (await db.query(`SELECT 1 FROM ${s}.event_ledger`)).rows)).toEqual([]);
  });
});
