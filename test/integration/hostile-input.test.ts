import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { openMemory } from '../../src';
import { LtstError } from '../../src/errors';
import { onDatabase, testTargets, useFreshSchema } from '../helpers/databases';

/**
 * Property: whatever a caller passes, every operation either succeeds or refuses with a typed
 * LtstError (INVALID_INPUT naming a field; FORBIDDEN or NOT_FOUND for a well-formed id of another
 * user's or a missing session; IDEMPOTENCY_CONFLICT for a reused key), never a raw driver or
 * runtime error, and a refusal leaves every LTST table as it was (performance metrics aside: a
 * refusal is recorded there on purpose). LTST_PROPERTY_RUNS sets the runs per operation.
 */
const RUNS = Number(process.env.LTST_PROPERTY_RUNS ?? 100);
const REFUSALS = new Set(['INVALID_INPUT', 'FORBIDDEN', 'NOT_FOUND', 'IDEMPOTENCY_CONFLICT']);
const TABLES = ['conversation_sessions', 'conversation_messages', 'conversation_context', 'user_preferences', 'memory_retrieval_cache', 'session_relationships', 'event_ledger', 'ltst_user_state'];
const MAX_BYTES = 4096;

const sha = (text: string) => createHash('sha256').update(text).digest('hex');

function nested(depth: number): Record<string, unknown> {
  let value: Record<string, unknown> = {};
  for (let i = 0; i < depth; i += 1) value = { a: value };
  return value;
}
const circular: Record<string, unknown> = {};
circular.self = circular;
const huge = 'x'.repeat(2_000_000);

// Hostile values: NUL, lone surrogates, text that looks like numbers or dates, over-long and huge
// text, NaN and infinities, numbers out of every column's range, bad dates, deep, cyclic, huge and
// non-JSON objects, and every wrong type.
const hostileChar = fc.oneof(fc.constantFrom('\u0000', '\ud800', '\udbff', '\udc00', '\udfff', '\u{1F600}', 'é', '"', '\\', '\n', ' '), fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }));
const shortText = fc.string({ unit: hostileChar, maxLength: 40 });
const trickyText = fc.constantFrom('', ' ', '\u0000', 'a\u0000b', '\ud800', 'x\udc00y', 'NaN', 'Infinity', '12', '-1', '0.5', '1e309', '9223372036854775808', '2026-01-31T12:00:00Z', '+010000-01-01T00:00:00Z', 'x'.repeat(51), 'x'.repeat(101), 'x'.repeat(256), 'é'.repeat(300), '\u{1F600}'.repeat(60));
const hostileNumber = fc.oneof(fc.constantFrom(NaN, Infinity, -Infinity, -0, 1e308, -1, 0.5, 1.5, 2 ** 31, -(2 ** 31) - 1, 2 ** 53 + 2, 2 ** 63, Number.MIN_VALUE), fc.integer(), fc.double());
const hostileDate = fc.constantFrom(new Date(NaN), new Date(Date.UTC(-5000, 0, 1)), new Date(8.64e15), new Date(-8.64e15), new Date('0050-01-01T00:00:00Z'), new Date('2026-01-31T12:00:00Z'));
const jsonLeaf = fc.oneof(shortText, trickyText, hostileNumber, fc.constant(null), fc.boolean());
const hostileObject = fc.oneof(
  fc.constantFrom<unknown>({}, nested(20_000), nested(64), nested(63), circular, { a: '\u0000' }, { ['k\u0000']: 1 }, { ['\ud800']: '\udfff' }, { n: NaN }, { b: 10n }, { f: () => 1 }, { s: Symbol('s') },
    { d: new Date(NaN) }, { m: new Map() }, Object.create(null), new Map([['a', 1]]), new (class Thing {})(), { big: huge }, { list: new Array(1_000_000) }, JSON.parse('{"__proto__": {"x": 1}}')),
  fc.dictionary(shortText, fc.oneof(jsonLeaf, fc.array(jsonLeaf, { maxLength: 3 }), fc.dictionary(shortText, jsonLeaf, { maxKeys: 3 })), { maxKeys: 5 }),
);
// Weighted towards what a type check alone lets through (text with NUL or surrogates, odd JSON, dates).
const hostile = fc.oneof(
  { weight: 3, arbitrary: trickyText },
  { weight: 2, arbitrary: shortText },
  { weight: 1, arbitrary: fc.constantFrom('x'.repeat(MAX_BYTES + 1), huge) },
  { weight: 2, arbitrary: hostileNumber },
  { weight: 2, arbitrary: hostileDate },
  { weight: 3, arbitrary: hostileObject },
  { weight: 1, arbitrary: fc.constantFrom<unknown>(undefined, null, true, false, 10n, Symbol('x'), () => 1, [], ['a'], [NaN]) },
);

/**
 * A sensible input with up to two fields (never one of `kept`) made hostile and some optional fields
 * left out, so later checks are reached, not only the first; without `kept`, now and then a hostile
 * value instead of the whole object.
 */
function inputOf(valid: Record<string, fc.Arbitrary<unknown>>, optional: string[], kept: string[] = []): fc.Arbitrary<unknown> {
  const spoilable = Object.keys(valid).filter((field) => !kept.includes(field));
  const spoiled = fc
    .tuple(fc.record(valid), fc.subarray(spoilable, { maxLength: 2 }), fc.array(hostile, { minLength: 2, maxLength: 2 }), fc.subarray(optional))
    .map(([base, fields, values, dropped]) => {
      const out: Record<string, unknown> = { ...base };
      for (const field of dropped) delete out[field];
      fields.forEach((field, i) => (out[field] = values[i]));
      return out;
    });
  return kept.length > 0 ? spoiled : fc.oneof({ weight: 12, arbitrary: spoiled }, { weight: 1, arbitrary: hostile });
}

const mostly = <T>(usual: T, other: T) => fc.oneof({ weight: 6, arbitrary: fc.constant(usual) }, { weight: 1, arbitrary: fc.constant(other) });
const user = mostly('u1', 'u2');
const session = mostly('s1', 's-new');
const score = fc.double({ min: 0, max: 1, noNaN: true });
const metadata = fc.dictionary(fc.string({ maxLength: 10 }), fc.oneof(fc.string({ maxLength: 20 }), fc.integer(), fc.boolean(), fc.constant(null)), { maxKeys: 4 });
const text = fc.string({ minLength: 1, maxLength: 40 }).filter((t) => t.trim() !== '');

const messageFields = {
  userId: user, sessionId: session, role: fc.constantFrom('human', 'ai', 'system', 'tool'), content: fc.string({ maxLength: 60 }),
  messageType: fc.constantFrom('message', 'summary'), parentMessageId: fc.constantFrom(1, '1', 2), metadata,
  timestamp: fc.date({ min: new Date('1990-01-01'), max: new Date('2090-01-01'), noInvalidDate: true }), idempotencyKey: fc.uuid(), embedding: fc.constant(null),
};
const messageOptional = ['messageType', 'parentMessageId', 'metadata', 'timestamp', 'idempotencyKey', 'embedding'];
const validMessage = fc.record(messageFields, { requiredKeys: ['userId', 'sessionId', 'role', 'content'] });
/** A batch of sensible messages with one of them (possibly) spoiled, or a hostile value. */
const batch = fc.oneof(
  { weight: 8, arbitrary: fc.tuple(fc.array(validMessage, { minLength: 1, maxLength: 3 }), fc.nat(), inputOf(messageFields, messageOptional)).map(([messages, at, bad]) => messages.map((m, i) => (i === at % messages.length ? bad : m))) as fc.Arbitrary<unknown> },
  { weight: 1, arbitrary: hostile },
);

const operations: Array<[string, fc.Arbitrary<unknown>]> = [
  ['storeMessages', batch],
  ['setContext', inputOf({ sessionId: session, userId: user, type: text, key: text, value: fc.string({ maxLength: 60 }), relevance: score, ttlSeconds: fc.nat(1_000_000), metadata }, ['relevance', 'ttlSeconds', 'metadata'])],
  ['upsertPreference', inputOf({ userId: user, key: text, value: fc.string({ maxLength: 60 }), type: text, source: fc.constantFrom('explicit', 'learned', 'inferred'), confidence: score }, ['type', 'confidence'])],
  ['logEvent', inputOf({ eventType: text, eventData: metadata, priority: fc.integer(), maxRetries: fc.nat(100), metadata }, ['eventData', 'priority', 'maxRetries', 'metadata'])],
  ['retrieveContext', inputOf({
    userId: user, sessionId: session, query: fc.oneof(shortText, trickyText), recentLimit: fc.nat(50), topK: fc.nat(20), scope: fc.constantFrom('user', 'session'),
    from: fc.constant('2020-01-01T00:00:00Z'), to: fc.constant(new Date('2100-01-01')), roles: fc.constant(['human']), messageTypes: fc.constant(['message']),
    minRelevance: score, tokenBudget: fc.integer({ min: 1, max: 5000 }), includePreferences: fc.boolean(), includeContext: fc.boolean(),
    includeRelatedSessions: fc.boolean(), minPreferenceConfidence: score, recencyHalfLifeDays: fc.integer({ min: 1, max: 365 }), useCache: fc.boolean(),
    neighbors: fc.nat(5), includeDocuments: fc.boolean(), topDocuments: fc.integer({ min: 1, max: 10 }),
    fusionWeights: fc.record({ vector: fc.double({ min: 0, max: 10, noNaN: true }), text: fc.double({ min: 0, max: 10, noNaN: true }) }, { requiredKeys: [] }),
    timeoutMs: fc.integer({ min: 1_000, max: 60_000 }),
  }, ['sessionId', 'recentLimit', 'topK', 'scope', 'from', 'to', 'roles', 'messageTypes', 'minRelevance', 'tokenBudget', 'includePreferences', 'includeContext',
    'includeRelatedSessions', 'minPreferenceConfidence', 'recencyHalfLifeDays', 'useCache', 'neighbors', 'includeDocuments', 'topDocuments', 'fusionWeights', 'timeoutMs'])],
];

describe.each(testTargets(__filename))('hostile input on $name', ({ config }) => {
  const store = openMemory({ ...config, memory: { maxContentBytes: MAX_BYTES } });
  const s = `"${config.schema}"`;
  const checksum = () =>
    onDatabase(config, async (db) =>
      (await db.query<{ t: string; sum: string }>(TABLES.map((t) => `SELECT '${t}' AS t, md5(coalesce(string_agg(x::text, '|' ORDER BY x::text), '')) AS sum FROM ${s}.${t} x`).join(' UNION ALL '))).rows,
    );

  useFreshSchema(config);
  beforeAll(() => store.storeMessage({ userId: 'u1', sessionId: 's1', role: 'human', content: 'I drink green tea' }));

  it.each(operations)('%s succeeds or refuses with a typed error, and a refusal changes nothing', async (name, arbitrary) => {
    const op = (store as unknown as Record<string, (input: unknown) => Promise<unknown>>)[name];
    const outcomes: Record<string, number> = {};
    await fc.assert(
      fc.asyncProperty(arbitrary, async (value) => {
        // Relevance gained by an earlier retrieval is written in the background: written first, so it is not counted as the refusal's.
        await store.flush();
        const before = await checksum();
        let result: unknown;
        try {
          result = await op(value);
        } catch (error) {
          if (!(error instanceof LtstError)) throw new Error(`raw error: ${String(error)}`, { cause: error });
          if (!REFUSALS.has(error.code)) throw new Error(`unexpected ${error.code}: ${error.message}`, { cause: error });
          if (error.code === 'INVALID_INPUT') expect(typeof error.field === 'string' && error.field !== '').toBe(true);
          const outcome = `${error.code} ${error.field ?? ''}`.trim();
          outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
          expect(await checksum()).toEqual(before);
          return;
        }
        outcomes.ok = (outcomes.ok ?? 0) + 1;
        // What succeeds is well-formed text, and a stored message's hash is of the text returned.
        expect((JSON.stringify(result) as string & { isWellFormed(): boolean }).isWellFormed()).toBe(true);
        if (name === 'storeMessages') for (const m of result as Array<{ content: string; contentHash: string }>) expect(m.contentHash).toBe(sha(m.content));
      }),
      { numRuns: RUNS },
    );
    // Both sides of the property were exercised.
    const byCode: Record<string, number> = {};
    for (const [outcome, n] of Object.entries(outcomes)) byCode[outcome.split(' ')[0]] = (byCode[outcome.split(' ')[0]] ?? 0) + n;
    const fields = Object.keys(outcomes).filter((outcome) => outcome.startsWith('INVALID_INPUT ')).length;
    console.log(`${name}: ${JSON.stringify(byCode)}, INVALID_INPUT naming ${fields} different fields`);
    expect(outcomes.ok).toBeGreaterThan(0);
    expect(Object.keys(outcomes).some((outcome) => outcome.startsWith('INVALID_INPUT '))).toBe(true);
  }, 120_000);
});
