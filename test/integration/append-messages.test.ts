import pg from 'pg';
import { closeAllMemory, openMemory } from '../../src';
import { dropSchema, ltstErrorOf, onDatabase, serverUrl, testTargets, useFreshSchema } from '../helpers/databases';
import { statementsSentDuring } from '../helpers/sent-statements';

/**
 * A chat turn stored into its existing session takes one statement (ltst_append_messages, migration
 * 0008) and keeps every guarantee of the general path; anything else falls back to that path.
 */

const turn = (sessionId: string, role: 'human' | 'ai', content: string, idempotencyKey?: string) => ({ userId: 'ann', sessionId, role, content, idempotencyKey });

describe.each(testTargets(__filename))('storing into an existing session on $name', ({ config }) => {
  useFreshSchema(config);
  const store = () => openMemory(config);

  it('appends with gap-free indexes, returns a retried key as the stored message, and refuses a reused one', async () => {
    const [opening] = await store().storeMessages([turn('s1', 'human', 'hello', 'k0')]); // creates the session: general path
    const stored = await store().storeMessages([turn('s1', 'human', 'I like tea', 'k1'), turn('s1', 'ai', 'Noted', 'k2')]);
    expect(stored.map((m) => [m.messageIndex, m.duplicate])).toEqual([[1, false], [2, false]]);
    // A retry of the turn, and one new message after it.
    const retried = await store().storeMessages([turn('s1', 'human', 'I like tea', 'k1'), turn('s1', 'ai', 'Noted', 'k2'), turn('s1', 'human', 'and you?', 'k3')]);
    expect(retried.map((m) => [m.messageId, m.messageIndex, m.duplicate])).toEqual([
      [stored[0].messageId, 1, true],
      [stored[1].messageId, 2, true],
      [expect.any(Number), 3, false],
    ]);
    expect(opening.messageIndex).toBe(0);
    const conflict = await ltstErrorOf(store().storeMessages([turn('s1', 'ai', 'not noted', 'k2')]));
    expect(conflict).toMatchObject({ code: 'IDEMPOTENCY_CONFLICT', itemIndex: 0, field: 'messages[0].idempotencyKey' });
    const theirs = await ltstErrorOf(store().storeMessage({ userId: 'bob', sessionId: 's1', role: 'human', content: 'mine now' }));
    expect(theirs.code).toBe('FORBIDDEN');
    expect((await store().getMessages('ann', 's1', { limit: 10 })).map((m) => m.messageIndex)).toEqual([0, 1, 2, 3]);
  });

  it('gives concurrent appends to one session distinct, consecutive indexes', async () => {
    await store().storeMessage(turn('s2', 'human', 'start'));
    await Promise.all(Array.from({ length: 8 }, (_, i) => store().storeMessages([turn('s2', 'human', `q${i}`), turn('s2', 'ai', `a${i}`)])));
    const indexes = (await store().getMessages('ann', 's2', { limit: 100 })).map((m) => m.messageIndex);
    expect(indexes).toEqual(Array.from({ length: 17 }, (_, i) => i));
  });
});

(serverUrl ? describe : describe.skip)('a chat turn on PostgreSQL', () => {
  const [{ config }] = testTargets(`${__filename}-statements`).filter((t) => t.name === 'postgres');
  afterAll(async () => {
    await dropSchema(config);
    await closeAllMemory();
  });

  it('is one statement once its session exists', async () => {
    await dropSchema(config);
    const store = openMemory(config);
    await store.migrate();
    await store.storeMessage(turn('chat', 'human', 'first'));
    // Every statement the store sends (the schema facts and the user's scope are already known).
    const sent = (await statementsSentDuring(() => store.storeMessages([turn('chat', 'human', 'I like tea', 'turn-1:h'), turn('chat', 'ai', 'Noted', 'turn-1:a')]))).map((s) => s.text);
    expect(sent).toEqual([expect.stringMatching(/ltst_append_messages/)]);
  });

  it('reads no message of the session, whatever the statistics say (migration 0009)', async () => {
    const store = openMemory(config);
    // The statistics autovacuum keeps: taken when the table had 50 short sessions, before this one grew
    // (between two of its ANALYZE runs a growing session is under-estimated).
    for (let i = 0; i < 50; i++) await store.storeMessages(Array.from({ length: 4 }, (_, k) => turn(`short-${i}`, k % 2 ? 'ai' : 'human', `hello ${k}`)));
    await onDatabase(config, (db) => db.query(`ANALYZE ${config.schema}.conversation_messages`));
    for (let i = 0; i < 300; i += 100) await store.storeMessages(Array.from({ length: 100 }, (_, k) => turn('long', k % 2 ? 'ai' : 'human', `message ${i + k}`)));
    const read = await onDatabase(config, (db) =>
      db.transaction(async (tx) => {
        // Reads of the table counted by PostgreSQL: inside one transaction, none of them is flushed away.
        const reads = async () =>
          Number(
            (await tx.query<{ read: string }>(`SELECT idx_tup_fetch + seq_tup_read AS read FROM pg_stat_xact_user_tables WHERE relid = '${config.schema}.conversation_messages'::regclass`))
              .rows[0].read,
          );
        const before = await reads();
        // A turn with one new key and one without: the common case of the chat memory and the nodes.
        await tx.query(
          `SELECT * FROM ${config.schema}.ltst_append_messages('long', 'ann', ARRAY['human', 'ai'], ARRAY['q', 'a'], ARRAY['message', 'message'],
             ARRAY['{}', '{}']::jsonb[], ARRAY[NULL, NULL]::timestamptz[], ARRAY['new-key', NULL], ARRAY[encode(sha256('q'), 'hex'), encode(sha256('a'), 'hex')],
             ARRAY[NULL, NULL]::text[], ARRAY[NULL, NULL]::text[])`,
        );
        return (await reads()) - before;
      }),
    );
    // Before (0008), joined to the keys: all 300 messages of the session, twice.
    expect(read).toBeLessThan(10);
    expect((await store.getMessages('ann', 'long', { limit: 1 }))[0].messageIndex).toBe(301);
  });

  it('leaves a session open to links while a save to it waits, on both paths (no deadlock with a user starting a session)', async () => {
    const store = openMemory(config);
    await store.migrate();
    for (const id of ['open-a', 'open-b']) await store.storeMessage(turn(id, 'human', 'start'));
    // The one-statement append, and the general path (a batch that also starts a session).
    for (const batch of [[turn('open-a', 'human', 'appended')], [turn('open-a', 'human', 'batched'), turn('open-new', 'human', 'new')]]) {
      // A transaction starting another session of the user holds their state row, then links its
      // session to open-a, which checks open-a's key (FOR KEY SHARE).
      const starter = new pg.Client({ connectionString: serverUrl });
      await starter.connect();
      try {
        await starter.query(`BEGIN; SELECT set_config('ltst.scope', 'all', true)`);
        await starter.query(`UPDATE ${config.schema}.ltst_user_state SET updated_at = now() WHERE user_id = 'ann'`);
        const saving = store.storeMessages(batch);
        // The save has locked open-a and waits for the state row.
        const waiting = `SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()`;
        for (let waited = 0; (await onDatabase(config, (db) => db.query<{ n: number }>(waiting))).rows[0].n === 0; waited += 20) {
          if (waited > 5_000) throw new Error('the save never waited for the state row');
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
        // With open-a held FOR UPDATE the link waited for the save, which waited for the starter: a deadlock.
        await starter.query(`SET LOCAL lock_timeout = '500ms'`);
        await starter.query(
          `INSERT INTO ${config.schema}.session_relationships (user_id, source_session_id, target_session_id, relationship_type, relationship_strength)
           VALUES ('ann', 'open-a', 'open-b', 'reference', 0.5)`,
        );
        await starter.query('ROLLBACK');
        expect((await saving).map((m) => m.content)).toEqual(batch.map((m) => m.content));
      } finally {
        await starter.end();
      }
    }
  });
});
