import { openMemory } from '../../src';
import { onDatabase, testTargets, useFreshSchema } from '../helpers/databases';

describe.each(testTargets(__filename))('sessions on $name', ({ config }) => {
  let now = new Date('2026-03-01T10:00:00Z');
  const store = openMemory({ ...config, memory: { clock: () => now, continuationWindowMinutes: 30 } });
  const s = `"${config.schema}"`;
  const links = () =>
    onDatabase(config, async (db) => (await db.query(`SELECT source_session_id AS source, target_session_id AS target, relationship_type AS type FROM ${s}.session_relationships ORDER BY 2`)).rows);
  /** Stores a first message, with the session's last activity set to the fake clock. */
  const start = async (userId: string, sessionId: string) => {
    await store.storeMessage({ userId, sessionId, role: 'human', content: `hello from ${sessionId}` });
    await onDatabase(config, (db) => db.query(`UPDATE ${s}.conversation_sessions SET last_activity = $2 WHERE session_id = $1`, [sessionId, now]));
  };

  useFreshSchema(config);

  it("links a user's new session to their previous one when it starts within the window, and never across users", async () => {
    await start('u1', 'morning');
    now = new Date(now.getTime() + 10 * 60_000);
    await start('u2', 'other-user');
    await start('u1', 'morning-2');
    now = new Date(now.getTime() + 3 * 60 * 60_000);
    await start('u1', 'evening');
    expect(await links()).toEqual([{ source: 'morning', target: 'morning-2', type: 'continuation' }]);
  });

  it('lists, filters and updates sessions; user_id is not something an update can change', async () => {
    const updated = await store.updateSession({ userId: 'u1', sessionId: 'morning', status: 'archived', name: 'Breakfast chat', metadata: { topic: 'tea' } });
    expect(updated).toMatchObject({ status: 'archived', sessionName: 'Breakfast chat', metadata: { topic: 'tea' }, userId: 'u1' });
    expect((await store.listSessions('u1')).map((x) => x.sessionId).sort()).toEqual(['evening', 'morning', 'morning-2']);
    expect((await store.listSessions('u1', { status: 'archived' })).map((x) => x.sessionId)).toEqual(['morning']);
    expect(await store.listSessions('nobody')).toEqual([]);
    await expect(store.updateSession({ userId: 'u2', sessionId: 'morning', status: 'active' })).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await expect(store.updateSession({ userId: 'u1', sessionId: 'morning', status: 'deleted' as never })).rejects.toMatchObject({ code: 'INVALID_INPUT', field: 'status' });
    expect(await store.getSession('u1', 'morning')).toMatchObject({ status: 'archived' });
  });

  it('returns the newest messages of a session in chronological order', async () => {
    for (const content of ['one', 'two', 'three']) await store.storeMessage({ userId: 'u3', sessionId: 'chrono', role: 'human', content });
    expect((await store.getMessages('u3', 'chrono', { limit: 2 })).map((m) => m.content)).toEqual(['two', 'three']);
    await expect(store.getMessages('u1', 'chrono')).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await expect(store.getMessages('u3', 'no-such-session')).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });
});
