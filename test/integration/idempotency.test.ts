import { openMemory, type StoreMessageInput } from '../../src';
import { ltstErrorOf, onDatabase, testTargets, useFreshSchema } from '../helpers/databases';

/**
 * Idempotency keys: the same key with the same message is a retry (the stored message comes back,
 * `duplicate: true`); the same key with another message is IDEMPOTENCY_CONFLICT, never a silent
 * duplicate that would hand back the first turn and drop this one.
 */
describe.each(testTargets(__filename))('idempotency keys on $name', ({ config }) => {
  const store = openMemory(config);
  const s = `"${config.schema}"`;
  const rows = <T>(text: string, values: unknown[] = []) => onDatabase(config, async (db) => (await db.query<T>(text, values)).rows);
  const contents = async (sessionId: string) =>
    (await rows<{ content: string }>(`SELECT content FROM ${s}.conversation_messages WHERE session_id = $1 ORDER BY message_index`, [sessionId])).map((r) => r.content);
  const turn = (sessionId: string, content: string, idempotencyKey: string, role: StoreMessageInput['role'] = 'human'): StoreMessageInput => ({
    userId: 'ida',
    sessionId,
    role,
    content,
    idempotencyKey,
  });

  useFreshSchema(config);

  it('returns the stored message for a retry with the same key and content, and stores it once', async () => {
    const [first] = await store.storeMessages([turn('retry', 'the first turn', 'run-0:item-0')]);
    const [again] = await store.storeMessages([turn('retry', 'the first turn', 'run-0:item-0')]);
    expect(again).toMatchObject({ messageId: first.messageId, content: 'the first turn', duplicate: true });
    expect(await contents('retry')).toEqual(['the first turn']);
  });

  it('refuses a stored key with other content: IDEMPOTENCY_CONFLICT naming the key, field, item and fix; nothing of the batch is written', async () => {
    const [first] = await store.storeMessages([turn('conflict', 'loop item one', 'exec-7:node:0')]);
    const error = await ltstErrorOf(store.storeMessages([turn('conflict', 'a new turn', 'fresh-key'), turn('conflict', 'loop item two', 'exec-7:node:0')]));
    expect(error).toMatchObject({ code: 'IDEMPOTENCY_CONFLICT', field: 'messages[1].idempotencyKey', itemIndex: 1, retryable: false });
    expect(error.message).toBe(`messages[1].idempotencyKey "exec-7:node:0" was already used in session "conflict" for message ${first.messageId} with other content`);
    expect(error.hint).toMatch(/its own idempotency key/);
    expect(await contents('conflict')).toEqual(['loop item one']);
  });

  it('refuses a stored key with the same content under another role', async () => {
    await store.storeMessages([turn('roles', 'ok', 'k-role')]);
    const error = await ltstErrorOf(store.storeMessages([turn('roles', 'ok', 'k-role', 'ai')]));
    expect(error).toMatchObject({ code: 'IDEMPOTENCY_CONFLICT', itemIndex: 0 });
    expect(error.message).toMatch(/with role human, not ai$/);
  });

  it('inside one batch: a repeated key with the same message is one row, with another message a conflict at the repeat', async () => {
    const same = await store.storeMessages([turn('batch', 'hello', 'b-1'), turn('batch', 'hello', 'b-1')]);
    expect(same.map((m) => [m.messageId, m.duplicate])).toEqual([[same[0].messageId, false], [same[0].messageId, true]]);
    const error = await ltstErrorOf(store.storeMessages([turn('batch', 'one', 'b-2'), turn('batch', 'other', 'b-3'), turn('batch', 'two', 'b-2')]));
    expect(error).toMatchObject({ code: 'IDEMPOTENCY_CONFLICT', field: 'messages[2].idempotencyKey', itemIndex: 2 });
    expect(error.message).toBe('messages[2].idempotencyKey "b-2" was already used in session "batch" for messages[0] of this batch with other content');
    expect(await contents('batch')).toEqual(['hello']);
  });

  it('keys are per session: the same key in another session is another message', async () => {
    const [a] = await store.storeMessages([turn('per-a', 'in a', 'shared-key')]);
    const [b] = await store.storeMessages([turn('per-b', 'in b', 'shared-key')]);
    expect([a.duplicate, b.duplicate, a.messageId === b.messageId]).toEqual([false, false, false]);
  });

  it('under concurrent writers of one key, one message with the first content is stored and every other call is a duplicate or a conflict', async () => {
    const calls = ['same', 'same', 'same', 'other', 'same', 'other'].map((content) => store.storeMessages([turn('race', content, 'race-key')]).then(
      ([m]) => (m.duplicate ? `duplicate of ${m.content}` : `stored ${m.content}`),
      (error: { code?: string }) => String(error.code),
    ));
    const outcomes = await Promise.all(calls);
    const stored = await contents('race');
    expect(stored).toHaveLength(1);
    expect(outcomes.filter((o) => o.startsWith('stored'))).toEqual([`stored ${stored[0]}`]);
    for (const [k, content] of ['same', 'same', 'same', 'other', 'same', 'other'].entries()) {
      if (outcomes[k].startsWith('stored')) continue;
      expect(`${content}: ${outcomes[k]}`).toBe(content === stored[0] ? `${content}: duplicate of ${content}` : `${content}: IDEMPOTENCY_CONFLICT`);
    }
  });

  it("names the batch item of a refused parent or another user's session (itemIndex), so a caller can drop that item alone", async () => {
    const parent = await ltstErrorOf(store.storeMessages([turn('items', 'fine', 'i-0'), { ...turn('items', 'child', 'i-1'), parentMessageId: 999_999_999 }]));
    expect(parent).toMatchObject({ code: 'INVALID_INPUT', field: 'messages[1].parentMessageId', itemIndex: 1 });
    await store.storeMessages([{ userId: 'someone-else', sessionId: 'taken', role: 'human', content: 'mine' }]);
    const taken = await ltstErrorOf(store.storeMessages([turn('items', 'fine', 'i-0'), turn('items', 'also fine', 'i-2'), turn('taken', 'intruder', 'i-3')]));
    expect(taken).toMatchObject({ code: 'FORBIDDEN', itemIndex: 2 });
    const mixed = await ltstErrorOf(store.storeMessages([turn('mixed', 'fine', 'm-0'), { ...turn('mixed', 'other user', 'm-1'), userId: 'zed' }]));
    expect(mixed).toMatchObject({ code: 'FORBIDDEN', itemIndex: 1 });
    expect(await contents('items')).toEqual([]);
  });
});
