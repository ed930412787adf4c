import { randomBytes } from 'node:crypto';
import { openMemory, type MemoryStore } from '../../src';
import { ltstErrorOf, onDatabase, testTargets, useFreshSchema } from '../helpers/databases';
import { startFakeOpenAiServer, type FakeOpenAiServer } from '../helpers/fake-openai-server';

// Fresh per run, so a hit can only come from this run's leak.
const API_KEY = `sk-test-${randomBytes(12).toString('hex')}`;
const PASSWORD = `pa55-${randomBytes(8).toString('hex')}`;
const leaks = (texts: string[]) => texts.filter((text) => text.includes(API_KEY) || text.includes(PASSWORD) || text.includes(API_KEY.slice(3)));

/** Every string reachable from a value: own properties of errors (message, stack, hint, cause chain) and of plain objects. */
function stringsIn(value: unknown, seen = new Set<unknown>(), depth = 0): string[] {
  if (typeof value === 'string') return [value];
  if (typeof value !== 'object' || value === null || seen.has(value) || depth > 8) return [];
  seen.add(value);
  const keys = value instanceof Error ? new Set([...Object.getOwnPropertyNames(value), 'message', 'stack', 'cause']) : Object.keys(value);
  return [...keys].flatMap((key) => stringsIn((value as Record<string, unknown>)[key], seen, depth + 1));
}

describe.each(testTargets(__filename))('no secret is stored or returned on $name', ({ config }) => {
  let server: FakeOpenAiServer;
  const warnings: string[] = [];
  const storeWith = (baseUrl: string): MemoryStore =>
    openMemory({ ...config, embeddings: { provider: 'openai', apiKey: API_KEY, baseUrl, model: 'text-embedding-3-small' }, memory: { onWarning: (w) => warnings.push(w) } });
  const metricRows = () => onDatabase(config, async (db) => (await db.query<{ row: string }>(`SELECT to_jsonb(x)::text AS row FROM "${config.schema}".memory_performance_metrics x`)).rows.map((r) => r.row));

  useFreshSchema(config);
  beforeAll(async () => {
    server = await startFakeOpenAiServer({ echoHeadersOn401: true });
  });
  afterAll(() => server.close());

  it('masks the API key a 401 answer echoes, in the error, the metrics, the export and the warnings', async () => {
    const store = storeWith(server.baseUrl);
    const failures = [
      await ltstErrorOf(store.storeMessage({ userId: 'alice', sessionId: 'a1', role: 'human', content: 'hello' })),
      await ltstErrorOf(store.retrieveContext({ userId: 'alice', query: 'hello', useCache: false })),
    ];
    // The gateway did receive the key, and quoted it back.
    expect(server.requests.at(-1)?.authorization).toBe(`Bearer ${API_KEY}`);
    for (const error of failures) {
      expect(error).toMatchObject({ code: 'INVALID_CONFIG', message: expect.stringContaining('rejected the API key (401)') });
      expect(error.message).toContain('"authorization":"***"');
      expect(leaks(stringsIn(error))).toEqual([]);
    }
    await store.flush();
    const metrics = await metricRows();
    expect(metrics.filter((row) => row.includes('rejected the API key'))).toHaveLength(2);
    expect(leaks(metrics)).toEqual([]);
    const exported = await store.exportUserData('alice');
    expect(JSON.stringify(exported)).toContain('rejected the API key');
    expect(leaks(stringsIn(exported))).toEqual([]);
    expect(leaks(warnings)).toEqual([]);
  });

  it('refuses a base URL with user:password@ before any request, without quoting the password', async () => {
    const before = server.requests.length;
    const store = storeWith(server.baseUrl.replace('http://', `http://gateway-user:${PASSWORD}@`));
    const error = await ltstErrorOf(store.retrieveContext({ userId: 'bob', query: 'hello', useCache: false }));
    expect(error).toMatchObject({ code: 'INVALID_CONFIG', message: expect.stringMatching(/^The embeddings base URL http:\/\/\*\*\*@127\.0\.0\.1:\d+\/v1 contains a user name or password$/) });
    expect(server.requests.length).toBe(before);
    expect(leaks(stringsIn(error))).toEqual([]);
    await store.flush();
    expect(leaks(await metricRows())).toEqual([]);
    expect(leaks(stringsIn(await store.exportUserData('bob')))).toEqual([]);
  });

  it('masks secrets in warnings and in the error an event failure records', async () => {
    const store = openMemory({ ...config, memory: { onWarning: (w) => warnings.push(w) } });
    // A retention default an operator pasted a connection string into: the warning quotes it.
    await onDatabase(config, (db) =>
      db.query(`UPDATE "${config.schema}".user_preferences SET preference_value = $1 WHERE user_id = 'system' AND preference_key = 'memory_retention_days'`, [`postgres://app:${PASSWORD}@db/memory`]),
    );
    await store.archiveSessions();
    expect(warnings.some((w) => w.includes('memory_retention_days') && w.includes('postgres://***@db/memory'))).toBe(true);
    await store.logEvent({ eventType: 'sync' });
    const [claim] = await store.claimEvents({ eventTypes: ['sync'], limit: 1 });
    const failed = await store.failEvent(claim, `HTTP 401 from CRM: {"authorization":"Bearer ${API_KEY}"}`);
    expect(failed.errorMessage).toBe('HTTP 401 from CRM: {"authorization":"***"}');
    expect(leaks(warnings)).toEqual([]);
    const ledger = await onDatabase(config, async (db) => (await db.query<{ row: string }>(`SELECT to_jsonb(e)::text AS row FROM "${config.schema}".event_ledger e`)).rows.map((r) => r.row));
    expect(leaks(ledger)).toEqual([]);
  });

});
