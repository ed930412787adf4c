import { openMemory } from '../../src';
import type { Database } from '../../src/db/database';
import { ltstErrorOf, onDatabase, testTargets, useFreshSchema } from '../helpers/databases';

describe.each(testTargets(__filename))('preferences on $name', ({ config }) => {
  const s = `"${config.schema}"`;
  const run = <T>(work: (db: Database) => Promise<T>) => onDatabase(config, work);
  let now = new Date('2030-01-01T00:00:00Z');
  const store = openMemory({ ...config, memory: { clock: () => now } });
  const rowsOf = (userId: string) =>
    run(async (db) => (await db.query<{ preference_key: string; preference_value: string; confidence_score: number; usage_count: number }>(`SELECT preference_key, preference_value, confidence_score, usage_count FROM ${s}.user_preferences WHERE user_id = $1 ORDER BY preference_key`, [userId])).rows);

  useFreshSchema(config);

  it('creates a preference with the default confidence of its source', async () => {
    const { preference, outcome } = await store.upsertPreference({ userId: 'u1', key: 'language', value: 'en', source: 'learned' });
    expect(outcome).toBe('created');
    expect(preference).toMatchObject({ userId: 'u1', key: 'language', value: 'en', type: 'general', source: 'learned', usageCount: 0, lastUsed: null, metadata: {} });
    expect(preference.confidence).toBeCloseTo(0.5, 12);
    expect(preference.createdAt).toBeInstanceOf(Date);
    const explicit = await store.upsertPreference({ userId: 'u1', key: 'e', value: 'x', source: 'explicit', type: 'ui' });
    expect(explicit.preference).toMatchObject({ type: 'ui', source: 'explicit' });
    expect(explicit.preference.confidence).toBeCloseTo(0.9, 12);
    expect((await store.upsertPreference({ userId: 'u1', key: 'i', value: 'x', source: 'inferred' })).preference.confidence).toBeCloseTo(0.3, 12);
  });

  it('reinforces the same value: 1 - (1 - c)(1 - w), keeping the stronger source', async () => {
    const once = await store.upsertPreference({ userId: 'u1', key: 'language', value: 'en', source: 'inferred' });
    expect(once.outcome).toBe('reinforced');
    expect(once.preference.confidence).toBeCloseTo(1 - 0.5 * 0.7, 12); // 0.65
    expect(once.preference.source).toBe('learned');
    const twice = await store.upsertPreference({ userId: 'u1', key: 'language', value: 'en', source: 'explicit', confidence: 0.2 });
    expect(twice.preference.confidence).toBeCloseTo(1 - 0.35 * 0.8, 12); // 0.72
    expect(twice.preference.source).toBe('explicit');
    expect(await rowsOf('u1')).toHaveLength(3);
  });

  it('replaces a different value backed by a stronger source, taking its confidence', async () => {
    await store.upsertPreference({ userId: 'u2', key: 'theme', value: 'dark', source: 'learned', confidence: 0.8 });
    const result = await store.upsertPreference({ userId: 'u2', key: 'theme', value: 'light', source: 'explicit', confidence: 0.4 });
    expect(result.outcome).toBe('replaced');
    expect(result.preference).toMatchObject({ value: 'light', source: 'explicit' });
    expect(result.preference.confidence).toBeCloseTo(0.4, 12);
  });

  it('replaces on equal source rank only with a higher confidence', async () => {
    await store.upsertPreference({ userId: 'u2', key: 'tz', value: 'UTC', source: 'learned', confidence: 0.6 });
    const tie = await store.upsertPreference({ userId: 'u2', key: 'tz', value: 'CET', source: 'learned', confidence: 0.6 });
    expect(tie.outcome).toBe('weakened');
    expect(tie.preference.value).toBe('UTC');
    expect(tie.preference.confidence).toBeCloseTo(0.6 * 0.4, 12); // 0.24
    const higher = await store.upsertPreference({ userId: 'u2', key: 'tz', value: 'CET', source: 'learned', confidence: 0.3 });
    expect(higher.outcome).toBe('replaced');
    expect(higher.preference).toMatchObject({ value: 'CET', source: 'learned' });
    expect(higher.preference.confidence).toBeCloseTo(0.3, 12);
  });

  it('weakens the old value against weaker evidence: c * (1 - w)', async () => {
    await store.upsertPreference({ userId: 'u2', key: 'units', value: 'metric', source: 'explicit' });
    const result = await store.upsertPreference({ userId: 'u2', key: 'units', value: 'imperial', source: 'learned', confidence: 0.99, type: 'ignored' });
    expect(result.outcome).toBe('weakened');
    expect(result.preference).toMatchObject({ value: 'metric', source: 'explicit', type: 'general' });
    expect(result.preference.confidence).toBeCloseTo(0.9 * 0.01, 12); // 0.009
  });

  it('leaves usage_count and last_used alone on upsert; markPreferencesUsed counts uses at the memory clock', async () => {
    now = new Date('2030-02-03T04:05:06Z');
    expect(await store.markPreferencesUsed('u1', ['language', 'e', 'language', 'missing'])).toBe(2);
    const [language] = (await store.getPreferences('u1')).filter((p) => p.key === 'language');
    expect(language).toMatchObject({ usageCount: 1, lastUsed: now });
    const again = await store.upsertPreference({ userId: 'u1', key: 'language', value: 'en', source: 'learned' });
    expect(again.preference).toMatchObject({ usageCount: 1, lastUsed: now });
    expect(await store.markPreferencesUsed('u1', [])).toBe(0);
  });

  it('lists preferences by confidence, filtered by minimum confidence and type', async () => {
    const all = await store.getPreferences('u2');
    expect(all.map((p) => p.key)).toEqual(['theme', 'tz', 'units']);
    expect((await store.getPreferences('u2', { minConfidence: 0.35 })).map((p) => p.key)).toEqual(['theme']);
    expect((await store.getPreferences('u1', { type: 'ui' })).map((p) => p.key)).toEqual(['e']);
    expect(await store.getPreferences('nobody')).toEqual([]);
    expect((await store.getPreferences('system')).map((p) => p.key)).toContain('relevance_threshold');
  });

  it('deletes a preference and says whether one was removed', async () => {
    expect(await store.deletePreference('u1', 'i')).toBe(true);
    expect(await store.deletePreference('u1', 'i')).toBe(false);
    expect((await rowsOf('u1')).map((row) => row.preference_key)).toEqual(['e', 'language']);
  });

  it('applies 8 concurrent reinforcements like 8 sequential ones', async () => {
    const observe = (userId: string) => store.upsertPreference({ userId, key: 'style', value: 'brief', source: 'learned', confidence: 0.2 });
    for (let i = 0; i < 8; i++) await observe('sequential');
    const outcomes = await Promise.all(Array.from({ length: 8 }, () => observe('parallel')));
    expect(outcomes.map((o) => o.outcome).sort()).toEqual(['created', ...Array(7).fill('reinforced')]);
    await store.upsertPreference({ userId: 'parallel-existing', key: 'style', value: 'brief', source: 'learned', confidence: 0.2 });
    await Promise.all(Array.from({ length: 8 }, () => observe('parallel-existing')));
    const expected = 1 - 0.8 ** 8;
    expect((await rowsOf('sequential'))[0].confidence_score).toBeCloseTo(expected, 12);
    expect(await rowsOf('parallel')).toEqual([expect.objectContaining({ preference_value: 'brief' })]);
    expect((await rowsOf('parallel'))[0].confidence_score).toBeCloseTo(expected, 12);
    expect((await rowsOf('parallel-existing'))[0].confidence_score).toBeCloseTo(1 - 0.8 ** 9, 12);
  });

  it('refuses to change the system defaults', async () => {
    for (const call of [
      store.upsertPreference({ userId: 'system', key: 'relevance_threshold', value: '0', source: 'explicit' }),
      store.deletePreference('system', 'relevance_threshold'),
      store.markPreferencesUsed('system', ['relevance_threshold']),
    ]) {
      const error = await ltstErrorOf(call);
      expect(error).toMatchObject({ code: 'INVALID_INPUT', field: 'userId' });
    }
    expect((await rowsOf('system')).find((row) => row.preference_key === 'relevance_threshold')).toMatchObject({ preference_value: '0.7', confidence_score: 1, usage_count: 0 });
  });

  it.each([
    ['userId', { userId: '' }],
    ['key', { key: '' }],
    ['value', { value: { not: 'text' } }],
    ['confidence', { confidence: Number.NaN }],
    ['confidence', { confidence: 1.5 }],
    ['confidence', { confidence: -0.1 }],
    ['source', { source: 'guessed' }],
    ['source', { source: undefined }],
    ['type', { type: '' }],
  ])('refuses a bad %s with INVALID_INPUT and writes nothing', async (field, bad) => {
    const input = { userId: 'u-bad', key: 'k', value: 'v', source: 'explicit', ...bad };
    const error = await ltstErrorOf(store.upsertPreference(input as Parameters<typeof store.upsertPreference>[0]));
    expect(error).toMatchObject({ code: 'INVALID_INPUT', field });
    expect(await rowsOf('u-bad')).toEqual([]);
  });

  it('refuses bad arguments of the other operations with INVALID_INPUT', async () => {
    expect(await ltstErrorOf(store.getPreferences('', {}))).toMatchObject({ code: 'INVALID_INPUT', field: 'userId' });
    expect(await ltstErrorOf(store.getPreferences('u1', { minConfidence: 2 }))).toMatchObject({ code: 'INVALID_INPUT', field: 'minConfidence' });
    expect(await ltstErrorOf(store.deletePreference('u1', ''))).toMatchObject({ code: 'INVALID_INPUT', field: 'key' });
    expect(await ltstErrorOf(store.markPreferencesUsed('u1', 'language' as unknown as string[]))).toMatchObject({ code: 'INVALID_INPUT', field: 'keys' });
    expect(await ltstErrorOf(store.markPreferencesUsed('u1', ['language', '']))).toMatchObject({ code: 'INVALID_INPUT', field: 'keys[1]' });
    expect((await rowsOf('u1')).find((row) => row.preference_key === 'language')?.usage_count).toBe(1);
  });

  it('records a metric per operation, also for a failed one', async () => {
    await store.upsertPreference({ userId: 'u-metric', key: 'k', value: 'v', source: 'explicit' });
    // A failure inside the operation: a (temporary) constraint makes the database refuse the row.
    await run((db) => db.query(`ALTER TABLE ${s}.user_preferences ADD CONSTRAINT no_boom CHECK (preference_value <> 'boom') NOT VALID`));
    await expect(store.upsertPreference({ userId: 'u-metric', key: 'k2', value: 'boom', source: 'explicit' })).rejects.toThrow(/no_boom/);
    await run((db) => db.query(`ALTER TABLE ${s}.user_preferences DROP CONSTRAINT no_boom`));
    await store.flush();
    const metrics = await run(async (db) =>
      (await db.query<{ result_count: number | null; error_message: string | null; session_id: string | null }>(
        `SELECT result_count, error_message, session_id FROM ${s}.memory_performance_metrics WHERE operation_type = 'upsert_preference' AND user_id = 'u-metric' ORDER BY metric_id`,
      )).rows,
    );
    expect(metrics).toHaveLength(2);
    expect(metrics[0]).toMatchObject({ result_count: 1, error_message: null, session_id: null });
    expect(metrics[1].result_count).toBeNull();
    expect(metrics[1].error_message).toMatch(/no_boom/);
    expect((await rowsOf('u-metric')).map((row) => row.preference_key)).toEqual(['k']);
  });
});
