import { openMemory } from '../../src';
import { ltstErrorOf, onDatabase, testTargets, useFreshSchema } from '../helpers/databases';

describe.each(testTargets(__filename))('imports on $name', ({ config }) => {
  const store = openMemory(config);
  const s = `"${config.schema}"`;
  const sql = (text: string, values: unknown[] = []) => onDatabase(config, (db) => db.query(text, values));
  const messagesOf = async (sessionId: string) =>
    (await onDatabase(config, (db) => db.query<{ user_id: string; role: string; content: string; message_index: number; timestamp: Date }>(
      `SELECT user_id, role, content, message_index, "timestamp" FROM ${s}.conversation_messages WHERE session_id = $1 ORDER BY message_index`, [sessionId]))).rows;

  const textSchema = `${config.schema}_text`;
  // Before useFreshSchema's hook, which closes every connection.
  afterAll(() => sql(`DROP SCHEMA IF EXISTS ${textSchema} CASCADE`));
  useFreshSchema(config);
  beforeAll(async () => {
    await sql(`CREATE TABLE ${s}.conversation_memory (session_id text, human_message text, ai_response text, context jsonb, created_at timestamptz)`);
    await sql(
      `INSERT INTO ${s}.conversation_memory VALUES
        ('cm-1', 'Hi, I am Ana', 'Hello Ana', '{"mood": "happy"}', '2024-01-02T10:00:00Z'),
        ('cm-1', 'I moved to Lisbon', 'Nice city', NULL, '2024-01-03T09:00:00Z'),
        ('cm-1', 'Remember my cat Tom', '', NULL, '2024-01-01T08:00:00Z'),
        ('cm-2', 'Second chat', 'Sure', NULL, '2024-02-01T00:00:00Z')`,
    );
    await sql(`CREATE TABLE ${s}.n8n_chat_histories (id serial PRIMARY KEY, session_id varchar(255) NOT NULL, message jsonb NOT NULL)`);
    const m = (type: string, content: unknown) => JSON.stringify({ type, data: { content, additional_kwargs: {}, response_metadata: {} } });
    await sql(`INSERT INTO ${s}.n8n_chat_histories (session_id, message) SELECT 'chat-1', x::jsonb FROM unnest($1::text[]) WITH ORDINALITY u(x, n) ORDER BY n`, [
      [m('human', 'What is LTST?'), m('ai', [{ type: 'text', text: 'Long-term ' }, { type: 'text', text: 'and short-term memory.' }]), m('tool', '{"ok":true}'), m('function', 'legacy'), m('ai', '')],
    ]);
    // A session that already belongs to someone else must never be written into.
    await store.storeMessage({ userId: 'someone-else', sessionId: 'taken', role: 'human', content: 'mine' });
    await sql(`INSERT INTO ${s}.n8n_chat_histories (session_id, message) VALUES ('taken', $1::jsonb)`, [m('human', 'intruder')]);
  });
  it('imports conversation_memory in time order with real timestamps, then imports nothing new', async () => {
    const first = await store.importConversationMemory({ table: `${config.schema}.conversation_memory`, userId: 'ana', batchSize: 2 });
    expect(first).toMatchObject({ rowsRead: 4, written: 7, skipped: 1, skippedReasons: { 'empty ai turn': 1 }, sessions: 2, integrity: { ok: true, problems: [] } });
    const cm1 = await messagesOf('cm-1');
    expect(cm1.map((r) => [r.message_index, r.role, r.content])).toEqual([
      [0, 'human', 'Remember my cat Tom'], [1, 'human', 'Hi, I am Ana'], [2, 'ai', 'Hello Ana'], [3, 'human', 'I moved to Lisbon'], [4, 'ai', 'Nice city'],
    ]);
    expect(cm1[1].timestamp.toISOString()).toBe('2024-01-02T10:00:00.000Z');
    expect(new Set(cm1.map((r) => r.user_id))).toEqual(new Set(['ana']));
    const again = await store.importConversationMemory({ table: `${config.schema}.conversation_memory`, userId: 'ana' });
    expect(again).toMatchObject({ rowsRead: 4, written: 0, skipped: 8, skippedReasons: { 'already imported': 7, 'empty ai turn': 1 } });
    expect(await store.getSession('ana', 'cm-1')).toMatchObject({ sessionLength: 5 });
  });

  it("imports n8n_chat_histories in id order, owned by the session id, skipping what has no role and other users' sessions", async () => {
    const report = await store.importN8nChatHistories({ table: `${config.schema}.n8n_chat_histories` });
    expect(report).toMatchObject({ rowsRead: 6, written: 3, sessions: 1, integrity: { ok: true } });
    expect(report.skippedReasons).toEqual({ 'message type "function" has no LTST role': 1, 'empty ai message': 1, 'session owned by another user': 1 });
    expect(report.skippedRows).toEqual([
      { id: '4', reason: 'message type "function" has no LTST role' },
      { id: '5', reason: 'empty ai message' },
      { id: '6', reason: 'session owned by another user' },
    ]);
    expect((await messagesOf('chat-1')).map((r) => [r.user_id, r.role, r.content])).toEqual([
      ['chat-1', 'human', 'What is LTST?'], ['chat-1', 'ai', 'Long-term and short-term memory.'], ['chat-1', 'tool', '{"ok":true}'],
    ]);
    expect((await messagesOf('taken')).map((r) => r.content)).toEqual(['mine']);
    expect(await store.importN8nChatHistories({ table: `${config.schema}.n8n_chat_histories` })).toMatchObject({ written: 0, skippedReasons: expect.objectContaining({ 'already imported': 3 }) });
  });

  it('skips malformed rows of an n8n_chat_histories whose message column is text, with their id and reason, and imports the rest', async () => {
    // Created by hand with a text column, as some installations have it; in its own schema beside the jsonb one.
    await sql(`CREATE SCHEMA ${textSchema}`);
    await sql(`CREATE TABLE ${textSchema}.n8n_chat_histories (id serial PRIMARY KEY, session_id varchar(255) NOT NULL, message text NOT NULL)`);
    const m = (type: string, content: string) => JSON.stringify({ type, data: { content } });
    await sql(`INSERT INTO ${textSchema}.n8n_chat_histories (session_id, message) SELECT 'text-1', x FROM unnest($1::text[]) WITH ORDINALITY u(x, n) ORDER BY n`, [
      [m('human', 'first'), '{"type": "human", "data": {"content": "cut off', m('ai', 'second'), 'not json at all', m('constructor', 'odd'), m('human', 'third')],
    ]);
    const report = await store.importN8nChatHistories({ table: `${textSchema}.n8n_chat_histories`, batchSize: 4 });
    expect(report).toMatchObject({ rowsRead: 6, written: 3, skipped: 3, sessions: 1, integrity: { ok: true } });
    expect(report.skippedReasons).toEqual({ 'invalid JSON in message': 2, 'message type "constructor" has no LTST role': 1 });
    expect(report.skippedRows).toEqual([
      { id: '2', reason: expect.stringMatching(/^invalid JSON in message: .+/) },
      { id: '4', reason: expect.stringMatching(/^invalid JSON in message: .+/) },
      { id: '5', reason: 'message type "constructor" has no LTST role' },
    ]);
    expect((await messagesOf('text-1')).map((r) => [r.role, r.content])).toEqual([['human', 'first'], ['ai', 'second'], ['human', 'third']]);
    // Again: nothing new; the already imported rows are counted, only the faulty ones listed.
    const again = await store.importN8nChatHistories({ table: `${textSchema}.n8n_chat_histories` });
    expect(again).toMatchObject({ written: 0, skippedReasons: expect.objectContaining({ 'already imported': 3, 'invalid JSON in message': 2 }) });
    expect(again.skippedRows.map((row) => row.id)).toEqual(['2', '4', '5']);
  });

  it('skips a source row edited since it was imported (its key now names other content), and imports the rest', async () => {
    await sql(`CREATE TABLE ${s}.chat_edited (id serial PRIMARY KEY, session_id varchar(255) NOT NULL, message jsonb NOT NULL)`);
    const m = (type: string, content: string) => JSON.stringify({ type, data: { content } });
    await sql(`INSERT INTO ${s}.chat_edited (session_id, message) VALUES ('edited', $1), ('edited', $2)`, [m('human', 'original'), m('ai', 'reply')]);
    expect(await store.importN8nChatHistories({ table: `${config.schema}.chat_edited` })).toMatchObject({ written: 2 });
    await sql(`UPDATE ${s}.chat_edited SET message = $1 WHERE id = 1`, [m('human', 'rewritten')]);
    await sql(`INSERT INTO ${s}.chat_edited (session_id, message) VALUES ('edited', $1)`, [m('human', 'new turn')]);
    const report = await store.importN8nChatHistories({ table: `${config.schema}.chat_edited` });
    expect(report).toMatchObject({ written: 1, skippedReasons: { 'changed since it was imported': 1, 'already imported': 1 }, integrity: { ok: true } });
    expect(report.skippedRows).toEqual([{ id: '1', reason: expect.stringContaining('changed since it was imported') }]);
    expect((await messagesOf('edited')).map((r) => r.content)).toEqual(['original', 'reply', 'new turn']);
  });

  it('lists at most 100 skipped rows, and counts them all', async () => {
    await sql(`CREATE TABLE ${s}.chat_broken (id serial PRIMARY KEY, session_id varchar(255) NOT NULL, message text NOT NULL)`);
    await sql(`INSERT INTO ${s}.chat_broken (session_id, message) SELECT 'broken', 'x' || i FROM generate_series(1, 150) i`);
    const report = await store.importN8nChatHistories({ table: `${config.schema}.chat_broken` });
    expect(report).toMatchObject({ rowsRead: 150, written: 0, skipped: 150, skippedReasons: { 'invalid JSON in message': 150 } });
    expect(report.skippedRows).toHaveLength(100);
    expect(report.skippedRows[99].id).toBe('100');
  });

  it('refuses a table that does not exist or a name that is not one', async () => {
    expect(await ltstErrorOf(store.importN8nChatHistories({ table: 'no_such_table' }))).toMatchObject({ code: 'NOT_FOUND' });
    expect(await ltstErrorOf(store.importConversationMemory({ table: 'x; DROP TABLE y' }))).toMatchObject({ code: 'INVALID_INPUT', field: 'table' });
  });
});
