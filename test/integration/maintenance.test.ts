import { openMemory } from '../../src';
import { EXPECTED_INDEXES, EXPECTED_TABLES, EXPECTED_TRIGGERS } from '../../src/schema/expected-objects';
import { ltstErrorOf, onDatabase, testTargets, useFreshSchema } from '../helpers/databases';

const HASH = 'c'.repeat(64);
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

describe.each(testTargets(__filename))('maintenance operations on $name', ({ config }) => {
  const t = (name: string) => `"${config.schema}".${name}`;
  const q = <T = Record<string, unknown>>(text: string, values: unknown[] = []) => onDatabase(config, async (db) => (await db.query<T>(text, values)).rows);
  /** The real time the fixtures are placed around; the store's clock moves relative to it. */
  const base = new Date();
  let fakeNow = base;
  const warnings: string[] = [];
  const store = openMemory({ ...config, memory: { clock: () => fakeNow, onWarning: (message) => warnings.push(message) } });
  const at = (ms: number) => new Date(base.getTime() + ms);
  const statuses = async () => Object.fromEntries((await q<{ session_id: string; status: string }>(`SELECT session_id, status FROM ${t('conversation_sessions')}`)).map((r) => [r.session_id, r.status]));
  const addSession = async (id: string, lastActivity: Date, status = 'active') => {
    await q(`INSERT INTO ${t('conversation_sessions')} (session_id, user_id, status) VALUES ($1, 'u1', $2)`, [id, status]);
    await q(`INSERT INTO ${t('conversation_messages')} (session_id, user_id, role, content, content_hash, message_index) VALUES ($1, 'u1', 'human', 'hi', $2, 0)`, [id, HASH]);
    // After the message: the session_length trigger moves last_activity to now().
    await q(`UPDATE ${t('conversation_sessions')} SET last_activity = $2::timestamptz WHERE session_id = $1`, [id, lastActivity]);
  };

  useFreshSchema(config);
  beforeAll(async () => {
    await q(`INSERT INTO ${t('conversation_sessions')} (session_id, user_id) VALUES ('s-cache', 'u-cache')`);
  });
  it('cleanExpired removes rows by the store clock, not the server time, with exact counts', async () => {
    for (const [key, offset] of [['c-1h', HOUR], ['c-2h', 2 * HOUR], ['c-1d', DAY]] as const) {
      await q(`INSERT INTO ${t('memory_retrieval_cache')} (cache_key, user_id, session_id, query_hash, retrieved_context, expires_at) VALUES ($1, 'u-cache', 's-cache', $2, '{}', $3::timestamptz)`, [key, HASH, at(offset)]);
    }
    for (const [key, offset] of [['x-1h', HOUR], ['x-3h', 3 * HOUR], ['x-never', null]] as const) {
      await q(
        `INSERT INTO ${t('conversation_context')} (session_id, user_id, context_type, context_key, context_value, context_hash, expires_at) VALUES ('s-cache', 'u-cache', 'note', $1, 'v', $2, $3::timestamptz)`,
        [key, HASH, offset === null ? null : at(offset)],
      );
    }
    const keys = async () => ({
      cache: (await q<{ k: string }>(`SELECT cache_key AS k FROM ${t('memory_retrieval_cache')} ORDER BY k`)).map((r) => r.k),
      context: (await q<{ k: string }>(`SELECT context_key AS k FROM ${t('conversation_context')} ORDER BY k`)).map((r) => r.k),
    });

    fakeNow = base;
    expect(await store.cleanExpired()).toEqual({ cache: 0, context: 0, erasures: 0 });
    fakeNow = at(90 * 60_000);
    expect(await store.cleanExpired()).toEqual({ cache: 1, context: 1, erasures: 0 });
    expect(await keys()).toEqual({ cache: ['c-1d', 'c-2h'], context: ['x-3h', 'x-never'] });
    fakeNow = at(2 * HOUR); // expires_at <= clock counts as expired
    expect(await store.cleanExpired()).toEqual({ cache: 1, context: 0, erasures: 0 });
    fakeNow = at(10 * DAY);
    expect(await store.cleanExpired()).toEqual({ cache: 1, context: 1, erasures: 0 });
    expect(await keys()).toEqual({ cache: [], context: ['x-never'] });
    expect(await store.cleanExpired()).toEqual({ cache: 0, context: 0, erasures: 0 });
    fakeNow = base;
  });

  it('archiveSessions with explicit inactiveDays archives exactly the stale active and paused sessions', async () => {
    await addSession('a-fresh', at(-1 * DAY));
    await addSession('a-stale', at(-10 * DAY));
    await addSession('a-paused-stale', at(-8 * DAY), 'paused');
    await addSession('a-already', at(-100 * DAY), 'archived');
    const before = await q(`SELECT session_id, session_length, last_activity, metadata FROM ${t('conversation_sessions')} ORDER BY session_id`);

    expect(await store.archiveSessions({ inactiveDays: 7 })).toEqual({ archived: 2, inactiveDays: 7, cutoff: at(-7 * DAY) });
    expect(await statuses()).toMatchObject({ 'a-fresh': 'active', 'a-stale': 'archived', 'a-paused-stale': 'archived', 'a-already': 'archived', 's-cache': 'active' });
    // Archiving changes the status only: the rows and their messages stay.
    expect(await q(`SELECT session_id, session_length, last_activity, metadata FROM ${t('conversation_sessions')} ORDER BY session_id`)).toEqual(before);
    expect((await q(`SELECT 1 FROM ${t('conversation_messages')} WHERE session_id IN ('a-stale', 'a-paused-stale')`)).length).toBe(2);
    expect(await store.archiveSessions({ inactiveDays: 7 })).toMatchObject({ archived: 0 });

    // The cutoff follows the clock: 6.5 days later the 1-day-old session is 7.5 days inactive.
    fakeNow = at(6.5 * DAY);
    expect(await store.archiveSessions({ inactiveDays: 7 })).toMatchObject({ archived: 1 });
    expect((await statuses())['a-fresh']).toBe('archived');
    fakeNow = base;
  });

  it('archiveSessions defaults to the system memory_retention_days preference, else 30', async () => {
    const setRetention = (value: string) => q(`UPDATE ${t('user_preferences')} SET preference_value = $1 WHERE user_id = 'system' AND preference_key = 'memory_retention_days'`, [value]);
    await addSession('d-29', at(-29 * DAY));
    await addSession('d-31', at(-31 * DAY));
    await addSession('d-4', at(-4 * DAY));
    await addSession('d-6', at(-6 * DAY));

    // The seeded default: 30 days.
    expect(await store.archiveSessions()).toMatchObject({ archived: 1, inactiveDays: 30 });
    expect(await statuses()).toMatchObject({ 'd-29': 'active', 'd-31': 'archived', 'd-4': 'active', 'd-6': 'active' });

    await setRetention('5');
    expect(await store.archiveSessions({})).toMatchObject({ archived: 2, inactiveDays: 5 });
    expect(await statuses()).toMatchObject({ 'd-29': 'archived', 'd-4': 'active', 'd-6': 'archived' });

    await setRetention('soon');
    expect(await store.archiveSessions()).toMatchObject({ archived: 0, inactiveDays: 30 });
    expect(warnings.join(' ')).toContain('memory_retention_days');

    await q(`DELETE FROM ${t('user_preferences')} WHERE user_id = 'system' AND preference_key = 'memory_retention_days'`);
    fakeNow = at(27 * DAY); // d-4 is now 31 days inactive
    expect(await store.archiveSessions()).toMatchObject({ archived: 1, inactiveDays: 30 });
    expect((await statuses())['d-4']).toBe('archived');
    fakeNow = base;
    await q(`INSERT INTO ${t('user_preferences')} (user_id, preference_key, preference_value, source, confidence_score) VALUES ('system', 'memory_retention_days', '30', 'explicit', 1)`);
  });

  it('usageReport covers every LTST table, index and trigger, and the cache hit rate', async () => {
    const metric = (type: string, hit: boolean) => q(`INSERT INTO ${t('memory_performance_metrics')} (operation_type, user_id, execution_time_ms, cache_hit) VALUES ($1, 'u1', 1, $2)`, [type, hit]);
    await metric('retrieve_context', true);
    await metric('retrieve_context', false);
    await metric('retrieve_context', false);
    await metric('semantic_search', true);
    await metric('store_message', false);

    const report = await store.usageReport();
    expect(report.tables.map((row) => row.table).sort()).toEqual([...EXPECTED_TABLES].sort());
    for (const row of report.tables) {
      expect(row.totalBytes).toBeGreaterThan(0);
      expect(Number.isFinite(row.rowEstimate) && row.rowEstimate >= 0).toBe(true);
    }
    expect(report.totalBytes).toBe(report.tables.reduce((sum, row) => sum + row.totalBytes, 0));
    const indexNames = report.indexes.map((row) => row.index);
    expect(indexNames).toEqual(expect.arrayContaining(EXPECTED_INDEXES));
    for (const row of report.indexes) expect(row.scans).toBeGreaterThanOrEqual(0);
    expect(report.triggers.map((row) => row.name)).toEqual(EXPECTED_TRIGGERS);
    expect(report.triggers.every((row) => row.present && row.enabled)).toBe(true);
    expect(report.sessionLengthTriggerEnabled).toBe(true);
    expect(report.cache).toEqual({ lookups: 4, hits: 2, hitRate: 0.5 });

    expect((await store.usageReport({ since: at(DAY) })).cache).toEqual({ lookups: 0, hits: 0, hitRate: null });

    await q(`ALTER TABLE ${t('conversation_messages')} DISABLE TRIGGER update_session_length_trigger`);
    try {
      const disabled = await store.usageReport();
      expect(disabled.sessionLengthTriggerEnabled).toBe(false);
      expect(disabled.triggers.find((row) => row.name === 'update_session_length_trigger')).toEqual({ name: 'update_session_length_trigger', present: true, enabled: false });
    } finally {
      await q(`ALTER TABLE ${t('conversation_messages')} ENABLE TRIGGER update_session_length_trigger`);
    }
  });

  it('refuses bad input with INVALID_INPUT naming the field, and changes nothing', async () => {
    const before = await statuses();
    for (const inactiveDays of [0, -1, 1.5, '7', Number.NaN, 1e9]) {
      const error = await ltstErrorOf(store.archiveSessions({ inactiveDays } as never));
      expect(error).toMatchObject({ code: 'INVALID_INPUT', field: 'inactiveDays' });
    }
    fakeNow = at(1000 * DAY);
    await ltstErrorOf(store.archiveSessions({ inactiveDays: 0 }));
    expect(await statuses()).toEqual(before);
    fakeNow = base;
    expect(await ltstErrorOf(store.archiveSessions('30' as never))).toMatchObject({ code: 'INVALID_INPUT', field: 'options' });
    expect(await ltstErrorOf(store.usageReport({ since: 'yesterday-ish' }))).toMatchObject({ code: 'INVALID_INPUT', field: 'since' });
  });

  it('refuses a clock that returns no valid date', async () => {
    const broken = openMemory({ ...config, memory: { clock: () => new Date(Number.NaN) } });
    expect(await ltstErrorOf(broken.cleanExpired())).toMatchObject({ code: 'INVALID_CONFIG' });
  });
});
