import { onDatabase, testTargets, useFreshSchema } from '../helpers/databases';

const HASH = 'b'.repeat(64);

describe.each(testTargets(__filename))('cleanup functions on $name', ({ config }) => {
  const schema = config.schema as string;
  const t = (name: string) => `"${schema}".${name}`;
  const q = <T = Record<string, unknown>>(text: string, values: unknown[] = []) => onDatabase(config, async (db) => (await db.query<T>(text, values)).rows);
  const clean = async (fn: 'clean_expired_cache' | 'clean_expired_context') => (await q<{ removed: number }>(`SELECT ${t(fn)}() AS removed`))[0].removed;
  const ids = async (table: string, id: string) => (await q<{ id: string }>(`SELECT ${id}::text AS id FROM ${t(table)} ORDER BY ${id}`)).map((r) => r.id);
  const sorted = (values: string[]) => [...values].sort((a, b) => Number(a) - Number(b));

  useFreshSchema(config);
  beforeAll(async () => {
    for (const [session, user] of [['s-a', 'user-a'], ['s-b', 'user-b']]) {
      await q(`INSERT INTO ${t('conversation_sessions')} (session_id, user_id) VALUES ($1, $2)`, [session, user]);
    }
  });
  it('clean_expired_cache() removes exactly the expired cache rows and returns how many', async () => {
    // [cache_key, user_id, session_id, expires_at relative to now(); null = now() + 1 hour, like the column default]
    const rows: [string, string, string | null, string | null][] = [
      ['expired-hour', 'user-a', 's-a', '-1 hour'],
      ['expired-second', 'user-a', null, '-1 second'],
      ['expired-day-b', 'user-b', 's-b', '-1 day'],
      ['future-minute', 'user-a', 's-a', '1 minute'],
      ['future-day-b', 'user-b', null, '1 day'],
      ['default-ttl', 'user-b', 's-b', null],
    ];
    const inserted = new Map<string, string>();
    for (const [key, user, session, offset] of rows) {
      const [row] = await q<{ id: string }>(
        `INSERT INTO ${t('memory_retrieval_cache')} (cache_key, user_id, session_id, query_hash, retrieved_context, expires_at)
         VALUES ($1, $2, $3, $4, $5, coalesce(now() + $6::interval, now() + interval '1 hour')) RETURNING cache_id::text AS id`,
        [key, user, session, HASH, JSON.stringify({ key }), offset],
      );
      inserted.set(key, row.id);
    }
    expect(await ids('memory_retrieval_cache', 'cache_id')).toEqual(sorted([...inserted.values()]));

    expect(await clean('clean_expired_cache')).toBe(3);

    const kept = ['future-minute', 'future-day-b', 'default-ttl'].map((key) => inserted.get(key)!);
    expect(await ids('memory_retrieval_cache', 'cache_id')).toEqual(sorted(kept));
    const left = await q<{ cache_key: string; retrieved_context: unknown }>(
      `SELECT cache_key, retrieved_context FROM ${t('memory_retrieval_cache')} WHERE expires_at <= now()`,
    );
    expect(left).toEqual([]);
    expect(await clean('clean_expired_cache')).toBe(0);
    expect(await ids('memory_retrieval_cache', 'cache_id')).toEqual(sorted(kept));
  });

  it('clean_expired_context() removes exactly the expired context rows, keeps future and NULL ones, and returns how many', async () => {
    // [session_id, user_id, context_key, expires_at relative to now(); null = never expires]
    const rows: [string, string, string, string | null][] = [
      ['s-a', 'user-a', 'expired-minute', '-1 minute'],
      ['s-b', 'user-b', 'expired-week', '-7 days'],
      ['s-a', 'user-a', 'future-minute', '1 minute'],
      ['s-b', 'user-b', 'future-year', '1 year'],
      ['s-a', 'user-a', 'forever-a', null],
      ['s-b', 'user-b', 'forever-b', null],
    ];
    const inserted = new Map<string, string>();
    for (const [session, user, key, offset] of rows) {
      const [row] = await q<{ id: string }>(
        `INSERT INTO ${t('conversation_context')} (session_id, user_id, context_type, context_key, context_value, context_hash, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, now() + $7::interval) RETURNING context_id::text AS id`,
        [session, user, 'note', key, `value of ${key}`, HASH, offset],
      );
      inserted.set(key, row.id);
    }
    const [nulls] = await q<{ n: number }>(`SELECT count(*)::integer AS n FROM ${t('conversation_context')} WHERE expires_at IS NULL`);
    expect(nulls.n).toBe(2);

    expect(await clean('clean_expired_context')).toBe(2);

    const kept = ['future-minute', 'future-year', 'forever-a', 'forever-b'].map((key) => inserted.get(key)!);
    expect(await ids('conversation_context', 'context_id')).toEqual(sorted(kept));
    const values = await q<{ context_key: string; context_value: string }>(
      `SELECT context_key, context_value FROM ${t('conversation_context')} ORDER BY context_key`,
    );
    expect(values).toEqual(['forever-a', 'forever-b', 'future-minute', 'future-year'].map((key) => ({ context_key: key, context_value: `value of ${key}` })));
    expect(await clean('clean_expired_context')).toBe(0);
    expect(await ids('conversation_context', 'context_id')).toEqual(sorted(kept));
  });

  it('each function touches only its own table', async () => {
    await q(
      `INSERT INTO ${t('memory_retrieval_cache')} (cache_key, user_id, query_hash, retrieved_context, expires_at) VALUES ($1, $2, $3, $4, now() - interval '1 hour')`,
      ['expired-again', 'user-a', HASH, '{}'],
    );
    await q(
      `INSERT INTO ${t('conversation_context')} (session_id, user_id, context_type, context_key, context_value, context_hash, expires_at)
       VALUES ($1, $2, $3, $4, $5, $6, now() - interval '1 hour')`,
      ['s-a', 'user-a', 'note', 'expired-again', 'v', HASH],
    );
    expect(await clean('clean_expired_context')).toBe(1);
    expect((await q(`SELECT 1 FROM ${t('memory_retrieval_cache')} WHERE cache_key = $1`, ['expired-again'])).length).toBe(1);
    expect(await clean('clean_expired_cache')).toBe(1);
    expect((await q(`SELECT 1 FROM ${t('memory_retrieval_cache')} WHERE cache_key = $1`, ['expired-again'])).length).toBe(0);
    expect((await q(`SELECT 1 FROM ${t('conversation_sessions')}`)).length).toBe(2);
  });
});
