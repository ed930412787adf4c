import { openMemory } from '../../src';
import type { Database } from '../../src/db/database';
import { MetricsRecorder, type MetricRow } from '../../src/memory/metrics';
import { onDatabase, testTargets, useFreshSchema } from '../helpers/databases';

describe.each(testTargets(__filename))('performance metrics on $name', ({ config }) => {
  const warnings: string[] = [];
  const slowStore = openMemory({ ...config, memory: { slowOperationMs: 0, onWarning: (w) => warnings.push(w) } });
  const store = openMemory(config);
  const metrics = async (operationType: string) =>
    (await onDatabase(config, (db) => db.query<{ user_id: string; session_id: string; result_count: number | null; error_message: string | null; metadata: { slow?: boolean }; operation_hash: string | null }>(
      `SELECT user_id, session_id, result_count, error_message, metadata, operation_hash FROM "${config.schema}".memory_performance_metrics WHERE operation_type = $1 ORDER BY metric_id`, [operationType]))).rows;

  useFreshSchema(config);

  it('records every operation with its user, session and result count, in buffered batches', async () => {
    for (let i = 0; i < 150; i += 1) await store.storeMessage({ userId: 'u1', sessionId: 's1', role: 'human', content: `m${i}` });
    await store.listSessions('u1');
    await store.flush();
    const stored = await metrics('store_messages');
    expect(stored).toHaveLength(150);
    expect(stored[0]).toMatchObject({ user_id: 'u1', session_id: 's1', result_count: 1, error_message: null });
    expect(await metrics('list_sessions')).toEqual([expect.objectContaining({ user_id: 'u1', result_count: 1, operation_hash: expect.stringMatching(/^[0-9a-f]{64}$/) })]);
  });

  it('records failed operations with their error message', async () => {
    await expect(store.storeMessage({ userId: 'u2', sessionId: 's1', role: 'human', content: 'not yours' })).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await store.flush();
    expect((await metrics('store_messages')).filter((m) => m.error_message)).toEqual([expect.objectContaining({ user_id: 'u2', error_message: 'Session "s1" belongs to another user', result_count: null })]);
  });

  it('records a failure that bad input stopped before the operation started', async () => {
    await expect(store.upsertPreference({ userId: 'u1', key: 'tone', value: 'dry', source: 'learned', confidence: Number.NaN })).rejects.toMatchObject({ code: 'INVALID_INPUT' });
    await expect(store.claimEvents({ limit: 0 })).rejects.toMatchObject({ code: 'INVALID_INPUT' });
    await store.flush();
    expect(await metrics('upsert_preference')).toEqual([expect.objectContaining({ error_message: expect.stringContaining('confidence') })]);
    expect(await metrics('claim_events')).toEqual([expect.objectContaining({ error_message: expect.stringContaining('limit') })]);
  });

  it('flags operations slower than the threshold and reports them as warnings', async () => {
    await slowStore.getSession('u1', 's1');
    await slowStore.flush();
    expect((await metrics('get_session')).map((m) => m.metadata)).toEqual([{ slow: true }]);
    expect(warnings).toEqual([expect.stringMatching(/^get_session took \d+ ms \(slow operation threshold 0 ms\)$/)]);
  });
  it('keeps every metric of a flush in which a call brought a 300-character user id and another a NUL', async () => {
    await store.flush();
    const before = (await metrics('store_messages')).length;
    await store.storeMessage({ userId: 'u1', sessionId: 's1', role: 'human', content: 'before' });
    await expect(store.importN8nChatHistories({ userId: 'u'.repeat(300) })).rejects.toMatchObject({ code: 'INVALID_INPUT', field: 'userId' });
    // The metric carries the user id as the caller gave it, before validation refused it.
    await expect(store.storeMessage({ userId: 'u\u0000x', sessionId: 's1', role: 'human', content: 'nul' })).rejects.toMatchObject({ code: 'INVALID_INPUT', field: 'messages[0].userId' });
    await store.storeMessage({ userId: 'u1', sessionId: 's1', role: 'human', content: 'after' });
    await store.flush();
    expect(await metrics('store_messages')).toHaveLength(before + 3);
    expect(await metrics('store_messages')).toContainEqual(expect.objectContaining({ user_id: 'ux', error_message: expect.stringContaining('userId') }));
    expect(await metrics('import_n8n_chat_histories')).toEqual([expect.objectContaining({ user_id: 'u'.repeat(255), error_message: expect.stringContaining('userId') })]);
  });

  describe('a flush with bad values', () => {
    const run = <T>(work: (db: Database) => Promise<T>) => onDatabase(config, work);
    const table = `"${config.schema}".memory_performance_metrics`;
    const rowsOf = async (prefix: string) =>
      (await run((db) => db.query<{ operation_type: string; user_id: string | null; session_id: string | null; error_message: string | null; metadata: unknown; execution_time_ms: number; result_count: number | null }>(
        `SELECT operation_type, user_id, session_id, error_message, metadata, execution_time_ms, result_count FROM ${table} WHERE operation_type LIKE $1 ORDER BY metric_id`, [`${prefix}%`]))).rows;
    const good = (n: number): MetricRow => ({ operationType: `batch_good_${n}`, userId: 'u1', sessionId: 's1', executionTimeMs: 3, resultCount: 1 });

    it('writes every row, the bad ones truncated to their columns and cleaned of NUL and lone surrogates', async () => {
      const warnings: string[] = [];
      const recorder = new MetricsRecorder(`"${config.schema}"`, run, (w) => warnings.push(w));
      const deep: Record<string, unknown> = {};
      let level = deep;
      for (let i = 0; i < 50; i += 1) level = (level.next = {}) as Record<string, unknown>;
      const bad: MetricRow[] = [
        { operationType: 'batch_bad_user', userId: 'u'.repeat(300), sessionId: `s\u0000${'x'.repeat(400)}`, executionTimeMs: 1 },
        { operationType: 'batch_bad_nul', userId: 'nul\u0000user', executionTimeMs: Number.NaN, resultCount: -4, errorMessage: `broken\u0000 \uD800 lone ${'e'.repeat(1_000_000)}` },
        { operationType: `batch_bad_long_type_${'t'.repeat(200)}`, operationHash: 'h'.repeat(100), executionTimeMs: 1e12, metadata: { 'k\u0000': 'v\u0000\uDC00', deep } },
        { operationType: 'batch_bad_metadata', executionTimeMs: 2, metadata: { big: 'x'.repeat(100_000) } },
      ];
      for (let i = 0; i < 6; i += 1) recorder.record(good(i));
      bad.forEach((row) => recorder.record(row));
      for (let i = 6; i < 10; i += 1) recorder.record(good(i));
      await recorder.flush();
      expect(warnings).toEqual([]);
      expect(await rowsOf('batch_good_')).toHaveLength(10);
      const [user, nul, longType, metadata] = await Promise.all(['batch_bad_user', 'batch_bad_nul', 'batch_bad_long', 'batch_bad_metadata'].map(rowsOf));
      expect(user).toEqual([expect.objectContaining({ user_id: 'u'.repeat(255), session_id: `s${'x'.repeat(254)}` })]);
      expect(nul).toEqual([expect.objectContaining({ user_id: 'nuluser', execution_time_ms: 0, result_count: 0 })]);
      expect(nul[0].error_message).toMatch(/^broken \uFFFD lone e+$/);
      expect(nul[0].error_message).toHaveLength(2_000);
      expect(longType[0].operation_type).toHaveLength(100);
      expect(longType[0]).toMatchObject({ execution_time_ms: 2_147_483_647, metadata: { k: 'v\uFFFD' } });
      expect(JSON.stringify(longType[0].metadata)).not.toContain('\\u0000');
      expect(metadata[0].metadata).toEqual({ truncated: true });
    });

    it('masks credentials quoted in an error message', async () => {
      const recorder = new MetricsRecorder(`"${config.schema}"`, run, () => undefined);
      recorder.record({
        operationType: 'batch_secret',
        executionTimeMs: 1,
        errorMessage: 'connect to postgres://ltst:hunter2@db:5432/x failed; password=hunter2 api_key: "hunter2" Authorization: Bearer hunter2 key sk-hunter2hunter2',
        metadata: { url: 'postgres://me:hunter2@db/x' },
      });
      await recorder.flush();
      const [row] = await rowsOf('batch_secret');
      expect(row.error_message).toContain('postgres://***@db:5432/x');
      expect(JSON.stringify(row)).not.toContain('hunter2');
    });

    it('writes the other rows when one truly fails, and reports only that one', async () => {
      await run((db) => db.query(`ALTER TABLE ${table} ADD CONSTRAINT no_refused CHECK (operation_type <> 'batch_refused')`));
      try {
        const warnings: string[] = [];
        const recorder = new MetricsRecorder(`"${config.schema}"`, run, (w) => warnings.push(w));
        for (let i = 0; i < 20; i += 1) recorder.record(i === 13 ? { operationType: 'batch_refused', executionTimeMs: 1 } : { ...good(i), operationType: `batch_split_${i}` });
        await recorder.flush();
        expect(await rowsOf('batch_split_')).toHaveLength(19);
        expect(warnings).toEqual([expect.stringMatching(/^Could not record 1 performance metric \(batch_refused\): .*no_refused/)]);
      } finally {
        await run((db) => db.query(`ALTER TABLE ${table} DROP CONSTRAINT no_refused`));
      }
    });

    it('reports a batch once, not row by row, when the database cannot be reached', async () => {
      const warnings: string[] = [];
      const unreachable = { connectionString: 'postgres://ltst:hunter2@127.0.0.1:1/none', schema: config.schema };
      const recorder = new MetricsRecorder(`"${config.schema}"`, (work) => onDatabase(unreachable, work), (w) => warnings.push(w));
      for (let i = 0; i < 8; i += 1) recorder.record(good(i));
      await recorder.flush();
      expect(warnings).toEqual([expect.stringMatching(/^Could not record 8 performance metrics \(batch_good_0, .*\): /)]);
      expect(warnings[0]).not.toContain('hunter2');
    });
  });
});
