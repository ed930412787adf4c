import { openMemory } from '../../src';
import type { Database } from '../../src/db/database';
import { withDatabase } from '../../src/db/registry';
import { withScope, type DataScope } from '../../src/db/scope';
import type { Embedder } from '../../src/embeddings/embedder';
import { ROW_SECURITY_TABLES } from '../../src/schema/expected-objects';
import { hashEmbedder } from '../helpers/hash-embedder';
import { onDatabase, sqlStateOf, testTargets, useFreshSchema } from '../helpers/databases';

/**
 * Row-level security as a second wall: queries below forget their user filter on purpose, the way a
 * bug would, and the policies still give them only the rows of the operation's users.
 */
describe.each(testTargets(__filename))('row-level security on $name', ({ name, config }) => {
  const s = `"${config.schema}"`;
  const store = openMemory(config);
  /** A query with no user filter, run in `scope` (undefined: no scope declared) on the shared database, as any store operation runs. */
  const forgetful = <T>(scope: DataScope | undefined, work: (db: Database) => Promise<T>, onConfig = config) =>
    scope ? withScope(scope, () => withDatabase(onConfig, work)) : withDatabase(onConfig, work);
  const usersIn = async (db: Database, table: string) =>
    (await db.query<{ user_id: string }>(`SELECT DISTINCT user_id FROM ${s}.${table} ORDER BY 1`)).rows.map((row) => row.user_id);

  useFreshSchema(config);

  beforeAll(async () => {
    for (const user of ['alice', 'bob']) {
      await store.storeMessages([
        { userId: user, sessionId: `${user}-1`, role: 'human', content: `${user} keeps a secret` },
        { userId: user, sessionId: `${user}-2`, role: 'human', content: `${user} has a second chat` },
      ]);
      await store.setContext({ userId: user, sessionId: `${user}-1`, type: 'mood', key: 'now', value: 'fine' });
      await store.upsertPreference({ userId: user, key: 'language', value: 'en', source: 'explicit' });
      await store.linkSessions({ userId: user, source: `${user}-1`, target: `${user}-2`, type: 'related' });
      await store.retrieveContext({ userId: user, sessionId: `${user}-1`, query: 'secret' });
    }
    await store.flush();
  });

  it('gives a query that forgets its user filter, run inside an operation for alice, only her rows', async () => {
    const seen: Record<string, string[]> = {};
    let refusedInsert = '';
    let touched = 0;
    const base = hashEmbedder();
    // The embedder runs inside the operation (before its transaction): a query here is the operation's.
    const probe: Embedder = {
      id: 'test:probe',
      dimensions: base.dimensions,
      embed: async (texts) => {
        await withDatabase(config, async (db) => {
          for (const table of ROW_SECURITY_TABLES) seen[table] = await usersIn(db, table);
          touched = (await db.query(`UPDATE ${s}.conversation_messages SET metadata = metadata || '{"touched": true}'`)).rowCount;
          refusedInsert = await sqlStateOf(db.query(`INSERT INTO ${s}.user_preferences (user_id, preference_key, preference_value) VALUES ('bob', 'planted', 'x')`));
        });
        return base.embed(texts);
      },
    };
    await openMemory({ ...config, embeddings: probe }).retrieveContext({ userId: 'alice', sessionId: 'alice-1', query: 'what is the secret', useCache: false });

    expect(seen).toEqual({
      conversation_sessions: ['alice'],
      conversation_messages: ['alice'],
      conversation_context: ['alice'],
      user_preferences: ['alice', 'system'],
      memory_retrieval_cache: ['alice'],
      session_relationships: ['alice'],
      memory_performance_metrics: ['alice'],
      ltst_user_state: ['alice'],
      ltst_message_terms: ['alice'],
    });
    expect(touched).toBe(2);
    expect(refusedInsert).toBe('42501');
    // Bob's rows are all there, untouched: the scope of all users (a DBA) sees both.
    const all = await onDatabase(config, async (db) => ({
      users: await usersIn(db, 'conversation_messages'),
      touched: (await db.query<{ user_id: string }>(`SELECT user_id FROM ${s}.conversation_messages WHERE metadata ? 'touched' ORDER BY 1`)).rows.map((r) => r.user_id),
    }));
    expect(all).toEqual({ users: ['alice', 'bob'], touched: ['alice', 'alice'] });
  });

  it('scopes a batch of several users to exactly those users', async () => {
    const seen = await forgetful({ users: ['bob', 'alice'] }, (db) => usersIn(db, 'conversation_sessions'));
    expect(seen).toEqual(['alice', 'bob']);
    const stored = await store.storeMessages([
      { userId: 'carol', sessionId: 'carol-1', role: 'human', content: 'hi' },
      { userId: 'dave', sessionId: 'dave-1', role: 'human', content: 'hello' },
    ]);
    expect(stored.map((m) => m.userId)).toEqual(['carol', 'dave']);
  });

  it('shows nothing and writes nothing where no scope was declared (only the system defaults are readable)', async () => {
    const unscoped = await forgetful(undefined, async (db) => {
      const counts: Record<string, number> = {};
      for (const table of ROW_SECURITY_TABLES) counts[table] = (await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${s}.${table} WHERE user_id <> 'system'`)).rows[0].n;
      return {
        counts,
        system: (await db.query(`SELECT 1 FROM ${s}.user_preferences WHERE user_id = 'system'`)).rows.length,
        insert: await sqlStateOf(db.query(`INSERT INTO ${s}.conversation_sessions (session_id, user_id) VALUES ('planted', 'mallory')`)),
        update: (await db.query(`UPDATE ${s}.user_preferences SET preference_value = '1' WHERE user_id = 'system'`)).rowCount,
      };
    });
    expect(unscoped).toEqual({ counts: Object.fromEntries(ROW_SECURITY_TABLES.map((t) => [t, 0])), system: 4, insert: '42501', update: 0 });
    // The system defaults are written in the scope of the user 'system' (or of all users) only.
    expect(await forgetful({ users: ['alice'] }, async (db) => (await db.query(`UPDATE ${s}.user_preferences SET preference_value = '2' WHERE user_id = 'system' AND preference_key = 'cache_ttl_hours'`)).rowCount)).toBe(0);
    expect(await forgetful({ users: ['system'] }, async (db) => (await db.query(`UPDATE ${s}.user_preferences SET preference_value = '1' WHERE user_id = 'system' AND preference_key = 'cache_ttl_hours'`)).rowCount)).toBe(1);
  });

  it("keeps one scope's rows from the next user of the same pooled connection, also after a failure", async () => {
    // One connection: every call below runs on the same client (on PGlite there is only one session anyway).
    const single = { ...config, maxConnections: 1 };
    const sessionsOf = (scope: DataScope | undefined) => forgetful(scope, (db) => usersIn(db, 'conversation_sessions'), single);
    expect(await sessionsOf({ users: ['alice'] })).toEqual(['alice']);
    expect(await sessionsOf({ users: ['bob'] })).toEqual(['bob']);
    expect(await sessionsOf(undefined)).toEqual([]);
    // A transaction for alice that fails, then one for bob, then nothing.
    const failed = forgetful({ users: ['alice'] }, (db) => db.transaction(async (tx) => {
      await tx.query(`SELECT 1 FROM ${s}.conversation_sessions`);
      throw new Error('rolled back');
    }), single);
    await expect(failed).rejects.toThrow('rolled back');
    expect(await forgetful({ users: ['bob'] }, (db) => db.transaction((tx) => usersIn(tx as Database, 'conversation_messages')), single)).toEqual(['bob']);
    expect(await sessionsOf(undefined)).toEqual([]);
    // A statement that fails for alice, then bob's.
    expect(await forgetful({ users: ['alice'] }, (db) => sqlStateOf(db.query(`SELECT 1/0 FROM ${s}.conversation_sessions`)), single)).toBe('22012');
    expect(await sessionsOf({ users: ['bob'] })).toEqual(['bob']);
  });

  it('still tells another user\'s session (FORBIDDEN) from a missing one', async () => {
    await expect(store.getSession('alice', 'bob-1')).rejects.toMatchObject({ code: 'FORBIDDEN' });
    expect(await store.getSession('alice', 'nobody-1')).toBeNull();
    await expect(store.getMessages('alice', 'bob-1')).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await expect(store.retrieveContext({ userId: 'alice', sessionId: 'bob-1', query: 'secret' })).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await expect(store.storeMessage({ userId: 'alice', sessionId: 'bob-2', role: 'human', content: 'let me in' })).rejects.toMatchObject({ code: 'FORBIDDEN' });
  });

  it('reports in health that the policies hold the role user operations run as', async () => {
    const report = await store.health();
    expect(report.rowLevelSecurity).toEqual({ role: name === 'pglite' ? 'ltst_app' : 'ltst', enforced: true, unprotectedTables: [] });
    expect(report.ok).toBe(true);
  });

  if (name === 'pglite') {
    it('reports a role with BYPASSRLS as bypassing', async () => {
      await onDatabase(config, (db) => db.exec('ALTER ROLE ltst_app BYPASSRLS'));
      try {
        const report = await store.health();
        expect(report.rowLevelSecurity).toMatchObject({ role: 'ltst_app', enforced: false, bypassedBy: 'bypassrls' });
        expect(report.warnings.join('\n')).toContain('Row-level security is bypassed: role "ltst_app" has BYPASSRLS');
      } finally {
        await onDatabase(config, (db) => db.exec('ALTER ROLE ltst_app NOBYPASSRLS'));
      }
    });
  } else {
    it('reports a table whose owner is no longer held (NO FORCE) as unprotected, and not ok', async () => {
      await onDatabase(config, (db) => db.exec(`ALTER TABLE ${s}.conversation_messages NO FORCE ROW LEVEL SECURITY`));
      try {
        const report = await store.health();
        expect(report.rowLevelSecurity).toEqual({ role: 'ltst', enforced: false, unprotectedTables: ['conversation_messages'] });
        expect(report.ok).toBe(false);
        expect(report.warnings.join('\n')).toContain('Row-level security does not hold on conversation_messages');
      } finally {
        await onDatabase(config, (db) => db.exec(`ALTER TABLE ${s}.conversation_messages FORCE ROW LEVEL SECURITY`));
      }
    });
  }
});
