import { openMemory } from '../../src';
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
});
