import { createHash } from 'node:crypto';
import type { Database } from '../../src/db/database';
import { onDatabase, testTargets, useFreshSchema } from '../helpers/databases';

const sha = (text: string) => createHash('sha256').update(text).digest('hex');

describe.each(testTargets(__filename))('update_session_length on $name', ({ config }) => {
  const s = `"${config.schema}"`;
  const run = <T>(work: (db: Database) => Promise<T>) => onDatabase(config, work);
  const session = (id: string) =>
    run(async (db) => (await db.query<{ session_length: number; last_activity: Date; updated_at: Date }>(`SELECT session_length, last_activity, updated_at FROM ${s}.conversation_sessions WHERE session_id = $1`, [id])).rows[0]);
  const counted = (id: string) => run(async (db) => Number((await db.query<{ n: string }>(`SELECT count(*) AS n FROM ${s}.conversation_messages WHERE session_id = $1`, [id])).rows[0].n));
  /** Inserts `count` messages into each session in ONE statement, as a batch store does. */
  const insert = (sessions: string[], count: number, firstIndex: number) =>
    run((db) =>
      db.query(
        `INSERT INTO ${s}.conversation_messages (session_id, user_id, role, content, content_hash, message_index)
         SELECT sid, 'u1', 'human', 'message ' || i, $1, $2::int + i
           FROM unnest($3::text[]) sid, generate_series(0, $4::int - 1) i`,
        [sha('x'), firstIndex, sessions, count],
      ),
    );

  useFreshSchema(config);
  beforeAll(async () => {
    await run((db) => db.query(`INSERT INTO ${s}.conversation_sessions (session_id, user_id, last_activity) VALUES ('a', 'u1', now() - interval '1 day'), ('b', 'u1', now() - interval '1 day')`));
  });
  it('counts single and batched inserts across sessions, and moves last_activity forward', async () => {
    const before = await session('a');
    await insert(['a'], 1, 0);
    expect((await session('a')).session_length).toBe(1);
    expect((await session('a')).last_activity.getTime()).toBeGreaterThan(before.last_activity.getTime());
    await insert(['a', 'b'], 50, 1);
    expect(await session('a')).toMatchObject({ session_length: 51 });
    expect(await session('b')).toMatchObject({ session_length: 50 });
    expect((await session('a')).session_length).toBe(await counted('a'));
  });

  it('counts concurrent batches into one session from separate connections', async () => {
    await run((db) => db.query(`INSERT INTO ${s}.conversation_sessions (session_id, user_id) VALUES ('c', 'u1')`));
    await Promise.all([0, 1, 2, 3].map((writer) => insert(['c'], 100, writer * 100)));
    expect(await session('c')).toMatchObject({ session_length: 400 });
    expect(await counted('c')).toBe(400);
  });

  it('counts deletes, including one statement spanning sessions', async () => {
    await run((db) => db.query(`DELETE FROM ${s}.conversation_messages WHERE session_id = 'a' AND message_index < 11`));
    expect((await session('a')).session_length).toBe(40);
    await run((db) => db.query(`DELETE FROM ${s}.conversation_messages WHERE message_index % 2 = 0`));
    expect((await session('a')).session_length).toBe(await counted('a'));
    expect((await session('b')).session_length).toBe(await counted('b'));
    expect(await counted('b')).toBe(25);
  });

  it('stays right when a transaction that inserted rolls back', async () => {
    const before = (await session('b')).session_length;
    await expect(
      run((db) =>
        db.transaction(async (tx) => {
          await tx.query(`INSERT INTO ${s}.conversation_messages (session_id, user_id, role, content, content_hash, message_index) VALUES ('b', 'u1', 'ai', 'x', $1, 10000)`, [sha('x')]);
          throw new Error('abort');
        }),
      ),
    ).rejects.toThrow('abort');
    expect((await session('b')).session_length).toBe(before);
  });

  it('does not count with COUNT(*): the trigger function reads only the changed rows', async () => {
    const source = await run(async (db) => (await db.query<{ src: string }>(`SELECT prosrc AS src FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = $1 AND proname = 'update_session_length'`, [config.schema])).rows[0].src);
    expect(source).toContain('changed_rows');
    expect(source).not.toMatch(/FROM\s+\S*conversation_messages/i);
  });

  it('leaves the session row for a cascade delete without error', async () => {
    await run((db) => db.query(`DELETE FROM ${s}.conversation_sessions WHERE session_id = 'b'`));
    expect(await session('b')).toBeUndefined();
    expect(await counted('b')).toBe(0);
  });
});
