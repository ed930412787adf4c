import { createHash } from 'node:crypto';
import { openMemory } from '../../src';
import { LtstError } from '../../src/errors';
import { ltstErrorOf, onDatabase, testTargets, useFreshSchema } from '../helpers/databases';

const sha = (text: string) => createHash('sha256').update(text).digest('hex');

/** Metadata nested `depth` levels deep: {a: {a: ... {}}}. */
function nested(depth: number): Record<string, unknown> {
  let value: Record<string, unknown> = {};
  for (let i = 0; i < depth; i += 1) value = { a: value };
  return value;
}

/** The error a call fails with: INVALID_INPUT naming `field`, never a raw driver error. */
async function refusal(call: Promise<unknown>, field: string): Promise<LtstError> {
  const error = await ltstErrorOf(call);
  expect({ code: error.code, field: error.field }).toEqual({ code: 'INVALID_INPUT', field });
  expect(error.hint).toBeTruthy();
  return error;
}

describe.each(testTargets(__filename))('input limits on $name', ({ config }) => {
  const store = openMemory({ ...config, memory: { maxContentBytes: 10_000 } });
  const s = `"${config.schema}"`;
  const rows = <T>(text: string, values: unknown[] = []) => onDatabase(config, async (db) => (await db.query<T>(text, values)).rows);
  const count = async (table: string) => Number((await rows<{ n: string }>(`SELECT count(*) AS n FROM ${s}.${table}`))[0].n);
  const message = (content: string, extra: Record<string, unknown> = {}) => ({ userId: 'u', sessionId: 's1', role: 'human' as const, content, ...extra });

  useFreshSchema(config);
  beforeAll(() => store.storeMessage(message('first')));

  it('refuses NUL in content, ids and metadata before any SQL, naming the field and the item', async () => {
    const before = await count('conversation_messages');
    const error = await refusal(store.storeMessages([message('fine'), message('a\u0000b')]), 'messages[1].content');
    expect(error.itemIndex).toBe(1);
    expect(error.message).toMatch(/NUL/);
    await refusal(store.storeMessages([message('x', { metadata: { note: 'a\u0000' } })]), 'messages[0].metadata.note');
    await refusal(store.storeMessages([message('x', { metadata: { ['k\u0000']: 1 } })]), 'messages[0].metadata');
    await refusal(store.storeMessages([message('x', { sessionId: 's\u0000' })]), 'messages[0].sessionId');
    await refusal(store.setContext({ userId: 'u', sessionId: 's1', type: 't', key: 'k', value: '\u0000' }), 'value');
    await refusal(store.upsertPreference({ userId: 'u', key: 'k\u0000', value: 'v', source: 'explicit' }), 'key');
    await refusal(store.logEvent({ eventType: 'e', eventData: { list: ['ok', 'no\u0000'] } }), 'eventData.list[1]');
    await refusal(store.updateSession({ userId: 'u', sessionId: 's1', contextSummary: 'a\u0000' }), 'contextSummary');
    expect(await count('conversation_messages')).toBe(before);
  });

  it('checks text against the real column width, in characters, not UTF-16 units', async () => {
    const error = await refusal(store.storeMessages([message('x', { messageType: 'm'.repeat(51) })]), 'messages[0].messageType');
    expect(error.message).toMatch(/50 characters/);
    // 50 emoji are 100 UTF-16 units but 50 characters: they fit varchar(50).
    const [stored] = await store.storeMessages([message('x', { messageType: '\u{1F600}'.repeat(50) })]);
    expect(stored.messageType).toBe('\u{1F600}'.repeat(50));
    await refusal(store.updateSession({ userId: 'u', sessionId: 's1', type: 't'.repeat(101) }), 'type');
    await refusal(store.updateSession({ userId: 'u', sessionId: 's1', name: 'n'.repeat(501) }), 'name');
    await refusal(store.updateSession({ userId: 'u', sessionId: 's1', name: 42 as unknown as string }), 'name');
    expect(await store.updateSession({ userId: 'u', sessionId: 's1', name: 'n'.repeat(500), type: 't'.repeat(100) })).toMatchObject({ sessionName: 'n'.repeat(500) });
  });

  it('refuses timestamps outside years 100 to 9999, ids above bigint and unsafe numbers', async () => {
    await refusal(store.storeMessages([message('x', { timestamp: new Date(Date.UTC(-5000, 0, 1)) })]), 'messages[0].timestamp');
    await refusal(store.storeMessages([message('x', { timestamp: '+010000-01-01T00:00:00Z' })]), 'messages[0].timestamp');
    await refusal(store.retrieveContext({ userId: 'u', query: 'x', from: new Date(Date.UTC(-300, 0, 1)) }), 'from');
    // The embedded database would read year 1 back as 2001: years before 100 are refused on both.
    await refusal(store.storeMessages([message('x', { timestamp: '0001-01-01T00:00:00Z' })]), 'messages[0].timestamp');
    const [early, late] = await store.storeMessages([message('x', { timestamp: '0100-01-01T00:00:00Z' }), message('y', { timestamp: '9999-12-31T23:59:59.999Z' })]);
    expect([early.timestamp.toISOString(), late.timestamp.toISOString()]).toEqual(['0100-01-01T00:00:00.000Z', '9999-12-31T23:59:59.999Z']);
    const stored = await store.getMessages('u', 's1', { limit: 2 });
    expect(stored.map((m) => m.timestamp.toISOString())).toEqual(['0100-01-01T00:00:00.000Z', '9999-12-31T23:59:59.999Z']);
    await refusal(store.storeMessages([message('x', { parentMessageId: '9223372036854775808' })]), 'messages[0].parentMessageId');
    await refusal(store.storeMessages([message('x', { parentMessageId: 2 ** 60 })]), 'messages[0].parentMessageId');
    // A row id may be given as its digits (ids can exceed 2^53); counts and scores must be numbers.
    const [child] = await store.storeMessages([message('child', { parentMessageId: String(early.messageId) })]);
    expect(child.parentMessageId).toBe(early.messageId);
    await refusal(store.setContext({ userId: 'u', sessionId: 's1', type: 't', key: 'k', value: 'v', relevance: '0.5' as unknown as number }), 'relevance');
    await refusal(store.logEvent({ eventType: 'e', priority: '5' as unknown as number }), 'priority');
  });

  it('bounds metadata: depth, size, and values JSON cannot carry', async () => {
    const deep = await refusal(store.storeMessages([message('x', { metadata: nested(20_000) })]), 'messages[0].metadata');
    expect(deep.message).toMatch(/64 levels/);
    expect((await store.storeMessages([message('x', { metadata: nested(63) })]))[0].metadata).toEqual(nested(63));
    const loop: Record<string, unknown> = {};
    loop.self = loop;
    await refusal(store.logEvent({ eventType: 'e', metadata: loop }), 'metadata');
    await refusal(store.setContext({ userId: 'u', sessionId: 's1', type: 't', key: 'k', value: 'v', metadata: { big: 'x'.repeat(20_000) } }), 'metadata');
    await refusal(store.logEvent({ eventType: 'e', eventData: { n: NaN } }), 'eventData.n');
    await refusal(store.logEvent({ eventType: 'e', eventData: { n: 10n } as unknown as Record<string, unknown> }), 'eventData.n');
    await refusal(store.linkSessions({ userId: 'u', source: 's1', target: 's2', type: 'related', metadata: { f: () => 1 } }), 'metadata.f');
  });

  it('replaces lone UTF-16 surrogates by U+FFFD before hashing: stored, returned and hashed text agree', async () => {
    const [stored] = await store.storeMessages([message('tea \ud800 time', { metadata: { ['key\udc00']: 'v\ud83d' } })]);
    const clean = 'tea \ufffd time';
    expect(stored.content).toBe(clean);
    expect(stored.contentHash).toBe(sha(clean));
    expect(stored.metadata).toEqual({ 'key\ufffd': 'v\ufffd' });
    const [row] = await rows<{ content: string; content_hash: string }>(`SELECT content, content_hash FROM ${s}.conversation_messages WHERE message_id = $1`, [stored.messageId]);
    expect(row).toEqual({ content: clean, content_hash: sha(clean) });
    const entry = await store.setContext({ userId: 'u', sessionId: 's1', type: 't', key: 'k\udfff', value: 'v', metadata: { a: '\ud800' } });
    expect(entry).toMatchObject({ key: 'k\ufffd', metadata: { a: '\ufffd' } });
    const bundle = await store.retrieveContext({ userId: 'u', sessionId: 's1', query: 'tea \ud800' });
    expect(bundle.query).toBe('tea \ufffd');
    await refusal(store.retrieveContext({ userId: 'u', sessionId: 's1', query: 'tea\u0000' }), 'query');
    // A well-formed pair is kept as it is.
    expect((await store.storeMessage(message('\u{1F375}'))).content).toBe('\u{1F375}');
  });

  it('gives every per-message error its item index, also one found inside the transaction', async () => {
    const [other] = await store.storeMessages([message('elsewhere', { sessionId: 's2' })]);
    const before = await count('conversation_messages');
    const error = await refusal(
      store.storeMessages([message('one'), message('two'), message('three', { parentMessageId: other.messageId })]),
      'messages[2].parentMessageId',
    );
    expect(error.itemIndex).toBe(2);
    // Another user's session, stored or claimed earlier in the same batch: FORBIDDEN, for that item.
    const stored = await ltstErrorOf(store.storeMessages([message('mine', { userId: 'v', sessionId: 'v1' }), message('theirs', { userId: 'v', sessionId: 's1' })]));
    expect({ code: stored.code, itemIndex: stored.itemIndex }).toEqual({ code: 'FORBIDDEN', itemIndex: 1 });
    const claimed = await ltstErrorOf(store.storeMessages([message('a', { sessionId: 'new' }), message('b'), message('c', { userId: 'v', sessionId: 'new' })]));
    expect({ code: claimed.code, itemIndex: claimed.itemIndex }).toEqual({ code: 'FORBIDDEN', itemIndex: 2 });
    expect(await count('conversation_messages')).toBe(before);
  });

  it('maps a data exception the database still raises to INVALID_INPUT with its SQLSTATE and column', async () => {
    // A DBA's own check, which the validation cannot know about, rejects the value in the database.
    await onDatabase(config, (db) =>
      db.exec(`CREATE FUNCTION ${s}.refuse_priority() RETURNS trigger LANGUAGE plpgsql AS $$
                 BEGIN IF NEW.priority > 1000 THEN RAISE EXCEPTION 'priority too high' USING ERRCODE = '22003', COLUMN = 'priority'; END IF; RETURN NEW; END $$;
               CREATE TRIGGER refuse_priority BEFORE INSERT ON ${s}.event_ledger FOR EACH ROW EXECUTE FUNCTION ${s}.refuse_priority();`),
    );
    try {
      const error = await refusal(store.logEvent({ eventType: 'e', priority: 5000 }), 'priority');
      expect(error.sqlState).toBe('22003');
      expect(error.message).toMatch(/priority too high/);
      expect(await count('event_ledger')).toBe(0);
    } finally {
      await onDatabase(config, (db) => db.exec(`DROP TRIGGER refuse_priority ON ${s}.event_ledger; DROP FUNCTION ${s}.refuse_priority()`));
    }
  });
});
