import { closeAllMemory, openMemory } from '../../src';
import type { MemoryConfig } from '../../src/config';
import type { MemoryContext } from '../../src/memory/context';
import { normalizeRequest } from '../../src/retrieval/request';
import { PRE_RANK_LIMIT, textCandidates } from '../../src/retrieval/search';
import { dropSchema, onDatabase, testTargets, useFreshSchema } from '../helpers/databases';

/**
 * The term index (migration 0007) serves full-text search of a whole user in time proportional to
 * the matches. These tests hold it equal to what a scan of the messages says, through every write
 * and deletion, and show that a search through it finds what the scan finds.
 */

/** What the index and the per-user statistics hold, and what a scan of the messages says they should. */
async function indexAgainstScan(config: MemoryConfig) {
  const s = `"${config.schema}"`;
  return onDatabase(config, async (db) => {
    const terms = async (sql: string) => (await db.query<{ entry: string }>(`${sql} ORDER BY 1`)).rows.map((row) => row.entry);
    const indexed = await terms(`SELECT concat_ws(' ', message_id, term, user_id, frequency) AS entry FROM ${s}.ltst_message_terms`);
    const scanned = await terms(
      `SELECT concat_ws(' ', m.message_id, t.lexeme, m.user_id, coalesce(array_length(t.positions, 1), 1)) AS entry
         FROM ${s}.conversation_messages m CROSS JOIN LATERAL unnest(m.content_tsv) t`,
    );
    const kept = await terms(`SELECT concat_ws(' ', user_id, message_count, term_total) AS entry FROM ${s}.ltst_user_state WHERE message_count > 0`);
    const counted = await terms(`SELECT concat_ws(' ', user_id, count(*), sum(length(content_tsv))) AS entry FROM ${s}.conversation_messages GROUP BY user_id`);
    return { indexed, scanned, kept, counted };
  });
}

async function expectIndexMatchesScan(config: MemoryConfig) {
  const { indexed, scanned, kept, counted } = await indexAgainstScan(config);
  expect(indexed.length).toBeGreaterThan(0);
  expect(indexed).toEqual(scanned);
  expect(kept).toEqual(counted);
}

const turn = (userId: string, sessionId: string, content: string) => ({ userId, sessionId, role: 'human' as const, content });

describe.each(testTargets(__filename))('the term index on $name', ({ config }) => {
  useFreshSchema(config);
  const store = () => openMemory(config);

  it('follows every insert and deletion, and the statistics with it', async () => {
    await store().storeMessages([
      turn('ada', 'ada-1', 'I prefer green tea in the morning, green tea every morning'),
      turn('ada', 'ada-1', 'The garden needs water'),
      turn('ada', 'ada-2', 'Tea with lemon is fine too'),
      turn('bob', 'bob-1', 'Bob likes coffee, black coffee'),
    ]);
    await store().storeMessage(turn('bob', 'bob-1', 'and no sugar in the coffee'));
    await store().storeMessage(turn('ada', 'ada-1', '!!! ...')); // no lexeme at all
    await expectIndexMatchesScan(config);

    // A session removed with its messages (as archiving does), by the foreign key's cascade.
    await onDatabase(config, (db) => db.query(`DELETE FROM "${config.schema}".conversation_sessions WHERE session_id = 'ada-2'`));
    await expectIndexMatchesScan(config);

    await store().deleteUserData('bob');
    await expectIndexMatchesScan(config);
    const bobsTerms = await onDatabase(config, async (db) => (await db.query(`SELECT 1 FROM "${config.schema}".ltst_message_terms WHERE user_id = 'bob'`)).rows.length);
    expect(bobsTerms).toBe(0);
  });

  it('finds, through the index, what a scan of the user finds (same messages, same scores)', async () => {
    const user = 'searcher';
    const texts = [
      'We hiked up the mountain trail at dawn',
      'The mountain lake was freezing cold',
      'I bought new hiking boots for the trail',
      'My sister visited the lake house last summer',
      'Dinner was pasta with a glass of red wine',
      'The trail map showed a shortcut to the lake',
    ];
    await store().storeMessages(texts.map((content, i) => turn(user, `searcher-${i % 2}`, content)));
    const ask = (extra: object) => store().retrieveContext({ userId: user, query: 'mountain trail to the lake', topK: 10, useCache: false, ...extra });
    const throughIndex = await ask({});
    // A role filter that keeps every message takes the filtered path, a scan of the user's rows.
    const throughScan = await ask({ roles: ['human', 'ai', 'system', 'tool'] });
    const found = (bundle: Awaited<ReturnType<typeof ask>>) => bundle.relevantMessages.map((m) => [m.content, m.scores.text]);
    expect(found(throughIndex).length).toBe(5);
    expect(found(throughIndex)).toEqual(found(throughScan));
  });

  it('keeps, of more matches than it ranks, the candidates the scan keeps by ts_rank_cd', async () => {
    const user = 'ranker';
    const words = ['river', 'stone', 'bridge', 'lantern', 'harbor'];
    // 300 matches, each with a different mix and count of the query's words.
    const messages = Array.from({ length: 300 }, (_, i) =>
      turn(user, `ranker-${i % 5}`, Array.from({ length: 1 + (i % 7) }, (_, k) => words[(i * 3 + k * (1 + (i % 4))) % words.length]).join(' and ')),
    );
    await store().storeMessages(messages);
    const query = 'the river bridge by the harbor lantern';
    const candidates = (extra: object) =>
      onDatabase(config, (db) =>
        db.transaction(async (tx) => {
          const found = await textCandidates(tx, { schema: `"${config.schema}"` } as MemoryContext, normalizeRequest({ userId: user, query, ...extra }), query, [], 100);
          return found.candidates.map((c) => c.row.message_id).sort();
        }),
      );
    // The index pre-ranks by the query terms' occurrences; the scan (a filter that keeps every message) by ts_rank_cd.
    const throughIndex = await candidates({});
    expect(throughIndex).toHaveLength(100);
    expect(throughIndex).toEqual(await candidates({ roles: ['human', 'ai', 'system', 'tool'] }));
  });

  it('still finds the rare term among more than PRE_RANK_LIMIT matches of a common one', async () => {
    const user = 'prolific';
    const common = Array.from({ length: PRE_RANK_LIMIT + 200 }, (_, i) => turn(user, `prolific-${i % 7}`, `weather report number ${i}`));
    for (let i = 0; i < common.length; i += 500) await store().storeMessages(common.slice(i, i + 500));
    await store().storeMessage(turn(user, 'prolific-rare', 'the weather on the volcano island'));
    const bundle = await store().retrieveContext({ userId: user, query: 'weather volcano', topK: 3, useCache: false });
    // Ranked first by the weight of the query terms it holds, the one message with the rare term is never cut.
    expect(bundle.relevantMessages[0].content).toBe('the weather on the volcano island');
  });

  it('reads only the postings of the query terms, even before the statistics know the user', async () => {
    const user = 'newcomer';
    // Statistics taken while the user had no message (as between two ANALYZE runs after an import).
    await onDatabase(config, (db) => db.query(`ANALYZE "${config.schema}".ltst_message_terms`));
    const words = Array.from({ length: 400 }, (_, w) => `topic${w.toString(36)}`);
    const messages = Array.from({ length: 2_000 }, (_, i) => turn(user, `newcomer-${i % 9}`, Array.from({ length: 12 }, (_, k) => words[(i * 7 + k * 31) % words.length]).join(' ')));
    for (let i = 0; i < messages.length; i += 500) await store().storeMessages(messages.slice(i, i + 500));
    // 32 terms, all searched (MAX_QUERY_TERMS).
    const query = words.filter((_, w) => w % 12 === 0).slice(0, 32).join(' ');
    const request = normalizeRequest({ userId: user, query });
    const { read, postings } = await onDatabase(config, (db) =>
      db.transaction(async (tx) => {
        const reads = async () =>
          Number(
            (
              await tx.query<{ read: string }>(
                `SELECT idx_tup_fetch + seq_tup_read AS read FROM pg_stat_xact_user_tables WHERE relid = '"${config.schema}".ltst_message_terms'::regclass`,
              )
            ).rows[0].read,
          );
        const before = await reads();
        const found = await textCandidates(tx, { schema: `"${config.schema}"` } as MemoryContext, request, query, [], 200);
        const searched = [...found.statistics.documentFrequency.values()];
        expect(searched.length).toBe(32);
        return { read: (await reads()) - before, postings: searched.reduce((sum, df) => sum + 2 * df, 0) };
      }),
    );
    // Counting each term's documents and reading its postings: twice the postings at most. Planned as a
    // join on these statistics, the search read 25,920 rows: the user's every term (24,000), then filtered.
    expect(read).toBeLessThanOrEqual(postings);
  });
});

describe.each(testTargets(`${__filename}-upgrade`))('migration 0007 on $name', ({ config }) => {
  afterAll(async () => {
    await dropSchema(config);
    await closeAllMemory();
  });

  it('indexes the messages stored before it', async () => {
    await dropSchema(config);
    await openMemory(config).migrate();
    await openMemory(config).storeMessages([turn('early', 'early-1', 'Stored before the term index existed'), turn('later', 'later-1', 'So was this one')]);
    const s = `"${config.schema}"`;
    // As version 6 left it: no term index, no term totals.
    await onDatabase(config, (db) =>
      db.exec(`DROP TABLE ${s}.ltst_message_terms; ALTER TABLE ${s}.ltst_user_state DROP COLUMN term_total; DELETE FROM ${s}.ltst_schema_migrations WHERE version = 7;`),
    );
    expect(await openMemory(config).migrate()).toMatchObject({ applied: ['0007_term_index'] });
    await expectIndexMatchesScan(config);
  });
});
