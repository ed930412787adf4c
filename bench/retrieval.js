// retrieveContext at scale on a PostgreSQL server with pgvector, on the built bundle:
//   node bench/retrieval.js [--url postgres://...] [--users 1000] [--per-user 100] [--queries 500]
//                           [--big-users 2] [--big-per-user 25000] [--sessions 5] [--seed 42]
//                           [--keep] [--ef-search 100] [--recall-only] [--import]
// Default url: LTST_BENCH_DATABASE_URL. Works only in the schema ltst_bench_retrieval (dropped
// before and after; --keep leaves it for inspection with psql). Steps:
//   1. setup: migrate, store users x per-user synthetic messages (vocabulary of ~3,500 made-up
//      words in 100 topics, 4 topics per user, sessions spread over a year) through storeMessages
//      in calls of 500, embedded by a fast deterministic bag-of-words hashing embedder (384-d);
//      ingest rate, then joinVectorGraph admitting the large users (their messages inserted into
//      the HNSW graph, which holds only users past 20,000 messages), REINDEX time of the HNSW
//      index, bytes per message, peak RSS of this process;
//      With --import the messages go through importMessages instead (batches of 2,000, two at once,
//      the HNSW index dropped and built once after the load), the way a large history is loaded;
//      its results go to bench/results/retrieval-import.json. The 1,000,000-message scale:
//      --import --users 9500 --big-users 2 (9,500 x 100 + 2 x 25,000);
//   2. retrieveContext latency (full bundle, useCache false) after 50 warm-up calls: wall time
//      minus stats.embeddingMs, and stats.embeddingMs itself;
//   3. cache hits: 200 of those requests with useCache true, twice; the second round's latency;
//   4. HNSW recall@10 under the user filter against exact search (pg client, raw SQL) for the large
//      users as retrieveContext's HNSW plan reads it (the small users are searched exactly: recall
//      1), plus the large users' retrieveContext latency;
//   5. a markdown table and bench/results/retrieval.json.
const fs = require('node:fs');
const path = require('node:path');
const { Client } = require('pg');
const { openMemory, closeAllMemory } = require('../dist/core/index.js');
const { dropSchema, machine, round, summary } = require('./common');
const { DIMENSIONS, TOPICS, TOPICS_PER_USER, mulberry32, hashingEmbedder, vocabulary, makeUsers, userMessages, queryFor, pick } = require('./synthetic');

const SCHEMA = 'ltst_bench_retrieval';
const BATCH = 500;
const WARMUP = 50;
const CACHE_REQUESTS = 200;
const RECALL_PAIRS = 200;
let EF_SEARCH = 100;
// --import: maintenance_work_mem of the HNSW build (a million 384-d vectors: 565 s with 2GB, 458 s with 4GB).
const INDEX_BUILD_MEMORY = '4GB';
const GOALS = { p50: 10, p95: 25, cacheP50: 2, recall: 0.95 };

function usageError(message) {
  console.error(`bench/retrieval.js: ${message}`);
  process.exit(2);
}

function parseArgs(argv) {
  const args = { url: process.env.LTST_BENCH_DATABASE_URL, users: 1000, perUser: 100, bigUsers: 2, bigPerUser: 25_000, queries: 500, sessions: 5, seed: 42, keep: false, recallOnly: false };
  const whole = (flag, value, min) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min) usageError(`${flag} must be a whole number >= ${min}, got ${value}`);
    return n;
  };
  for (let i = 0; i < argv.length; i += 1) {
    const [flag, inline] = argv[i].split(/=(.*)/s);
    const value = () => (inline !== undefined ? inline : argv[++i]);
    if (flag === '--url') args.url = value();
    else if (flag === '--users') args.users = whole(flag, value(), 1);
    else if (flag === '--per-user') args.perUser = whole(flag, value(), 20);
    else if (flag === '--queries') args.queries = whole(flag, value(), 1);
    else if (flag === '--sessions') args.sessions = whole(flag, value(), 1);
    else if (flag === '--seed') args.seed = whole(flag, value(), 0);
    else if (flag === '--keep') args.keep = true;
    else if (flag === '--big-users') args.bigUsers = whole(flag, value(), 0);
    else if (flag === '--big-per-user') args.bigPerUser = whole(flag, value(), 20);
    else if (flag === '--recall-only') args.recallOnly = args.keep = true;
    else if (flag === '--import') args.import = true;
    else if (flag === '--ef-search') EF_SEARCH = whole(flag, value(), 1);
    else if (flag === '--help' || flag === '-h') {
      console.log('usage: node bench/retrieval.js [--url postgres://...] [--users 1000] [--per-user 100] [--queries 500] [--sessions 5] [--seed 42] [--keep] [--ef-search 100] [--recall-only] [--import]');
      process.exit(0);
    } else usageError(`unknown argument ${argv[i]} (try --help)`);
  }
  if (!args.url) {
    console.error('bench/retrieval.js needs a PostgreSQL server with pgvector: set LTST_BENCH_DATABASE_URL or pass --url postgres://user:pw@host:5432/db');
    process.exit(2);
  }
  if (!/^postgres(ql)?:\/\//.test(String(args.url))) usageError('--url must be a postgres:// connection string');
  return args;
}

// ---------------------------------------------------------------- helpers

const log = (text) => process.stderr.write(`[retrieval] ${text}\n`);

/** The bench's own SQL client, as a DBA reads: every user's rows (row-level security lets an unscoped connection see none). */
async function connect(url) {
  const client = new Client({ connectionString: url });
  await client.connect();
  await client.query(`SELECT set_config('ltst.scope', 'all', false)`);
  return client;
}


// ---------------------------------------------------------------- steps

async function setup(args, store, client, random, vocab, users) {
  let started = performance.now();
  const migration = await store.migrate();
  const migrateMs = performance.now() - started;
  if (!migration.semanticSearch) throw new Error(`migrate reports semantic search off (${JSON.stringify(migration.warnings ?? [])}): the server needs pgvector`);

  if (args.import) return importSetup(store, client, random, vocab, users, migrateMs);
  // Ingest: users in order, their messages flattened, calls of 500.
  let pending = [];
  let stored = 0;
  let calls = 0;
  const total = users.reduce((sum, user) => sum + user.perUser, 0);
  const callMs = [];
  started = performance.now();
  const flush = async () => {
    const t0 = performance.now();
    await store.storeMessages(pending);
    callMs.push(performance.now() - t0);
    stored += pending.length;
    calls += 1;
    pending = [];
    if (calls % 20 === 0) log(`stored ${stored.toLocaleString('en')} / ${total.toLocaleString('en')} (${Math.round(stored / ((performance.now() - started) / 1000))}/s)`);
  };
  for (const user of users) {
    for (const message of userMessages(random, vocab, user, user.perUser)) {
      pending.push(message);
      if (pending.length === BATCH) await flush();
    }
  }
  if (pending.length > 0) await flush();
  const ingestMs = performance.now() - started;
  log(`ingest done: ${stored} messages in ${(ingestMs / 1000).toFixed(1)} s`);
  started = performance.now();
  const vectorGraph = { ...(await store.joinVectorGraph()), ms: Math.round(performance.now() - started) };
  log(`vector graph: ${vectorGraph.users} users, ${vectorGraph.messages} messages admitted in ${(vectorGraph.ms / 1000).toFixed(1)} s`);

  started = performance.now();
  const { preferences, contextEntries } = await addPreferencesAndContext(store, random, vocab, users);
  const extrasMs = performance.now() - started;

  await client.query(`ANALYZE ${SCHEMA}.conversation_messages`);
  const { rows: [sizes] } = await client.query(
    `SELECT count(*)::bigint AS n, pg_total_relation_size('${SCHEMA}.conversation_messages') AS total,
            pg_relation_size('${SCHEMA}.conversation_messages') AS heap,
            pg_relation_size('${SCHEMA}.idx_conversation_messages_embedding') AS hnsw,
            pg_relation_size('${SCHEMA}.idx_conversation_messages_content_fts') AS gin
       FROM ${SCHEMA}.conversation_messages`,
  );
  const count = Number(sizes.n);

  // HNSW build: REINDEX the index the migration created (the incremental build was the ingest).
  const settings = Object.fromEntries((await client.query(`SELECT name, current_setting(name) AS value FROM pg_settings WHERE name IN ('maintenance_work_mem', 'max_parallel_maintenance_workers', 'shared_buffers', 'work_mem')`)).rows.map((r) => [r.name, r.value]));
  const notices = [];
  const onNotice = (notice) => notices.push(notice.message);
  client.on('notice', onNotice);
  let reindex;
  started = performance.now();
  try {
    await client.query(`REINDEX INDEX ${SCHEMA}.idx_conversation_messages_embedding`);
    reindex = { permitted: true, ms: Math.round(performance.now() - started), notices };
  } catch (error) {
    reindex = { permitted: false, error: `${error.code ?? ''} ${error.message}`.trim(), notices };
  }
  client.off('notice', onNotice);
  const { rows: [after] } = await client.query(`SELECT pg_relation_size('${SCHEMA}.idx_conversation_messages_embedding') AS hnsw`);
  log(reindex.permitted ? `REINDEX of the HNSW index: ${(reindex.ms / 1000).toFixed(1)} s` : `REINDEX refused: ${reindex.error}`);

  return {
    migrateMs: Math.round(migrateMs),
    messages: count,
    calls,
    ingestMs: Math.round(ingestMs),
    messagesPerSecond: Math.round(count / (ingestMs / 1000)),
    callMs: summary(callMs),
    preferences,
    contextEntries,
    preferencesAndContextMs: Math.round(extrasMs),
    vectorGraph,
    hnswBuild: { incremental: 'the large users joined the graph after the ingest (vectorGraph), one insert per message', reindex, settings },
    bytes: {
      perMessage: Math.round(Number(sizes.total) / count),
      table: Number(sizes.total),
      heap: Number(sizes.heap),
      hnswIndexAfterIngest: Number(sizes.hnsw),
      hnswIndexAfterReindex: Number(after.hnsw),
      ginIndex: Number(sizes.gin),
    },
  };
}

/** Preferences and context for one user in five: 3 preferences, 2 context entries per session. */
async function addPreferencesAndContext(store, random, vocab, users) {
  let preferences = 0;
  let contextEntries = 0;
  for (let u = 0; u < users.length; u += 5) {
    const user = users[u];
    for (let k = 0; k < 3; k += 1) {
      await store.upsertPreference({ userId: user.userId, key: `likes_${k}`, value: pick(random, vocab.topics[user.topics[k % user.topics.length]]), type: 'interest', source: 'explicit', confidence: 0.9 });
      preferences += 1;
    }
    for (const session of user.sessions) {
      await store.setContext({ sessionId: session.sessionId, userId: user.userId, type: 'task', key: 'goal', value: `plan the ${pick(random, vocab.topics[session.focus])} ${pick(random, vocab.general)}`, relevance: 0.8 });
      await store.setContext({ sessionId: session.sessionId, userId: user.userId, type: 'entity', key: 'place', value: pick(random, vocab.general), relevance: 0.5 });
      contextEntries += 2;
    }
  }
  return { preferences, contextEntries };
}

/** --import: the same messages through importMessages, the HNSW index built once after the load. */
async function importSetup(store, client, random, vocab, users, migrateMs) {
  const total = users.reduce((sum, user) => sum + user.perUser, 0);
  function* messages() {
    for (const user of users) yield* userMessages(random, vocab, user, user.perUser);
  }
  const started = performance.now();
  const progress = setInterval(() => log(`importing… ${Math.round((performance.now() - started) / 1000)} s`), 30_000);
  let report;
  try {
    report = await store.importMessages(messages(), { rebuildVectorIndex: true, indexBuildMemory: INDEX_BUILD_MEMORY });
  } finally {
    clearInterval(progress);
  }
  const loadMs = report.ms - report.vectorIndex.ms;
  log(`imported ${report.written.toLocaleString('en')} of ${total.toLocaleString('en')} messages: load ${(loadMs / 1000).toFixed(1)} s, HNSW build ${(report.vectorIndex.ms / 1000).toFixed(1)} s`);
  const extras = await addPreferencesAndContext(store, random, vocab, users);
  await client.query(`ANALYZE ${SCHEMA}.conversation_messages`);
  const { rows: [sizes] } = await client.query(
    `SELECT count(*)::bigint AS n, pg_total_relation_size('${SCHEMA}.conversation_messages') AS total,
            pg_relation_size('${SCHEMA}.idx_conversation_messages_embedding') AS hnsw
       FROM ${SCHEMA}.conversation_messages`,
  );
  const count = Number(sizes.n);
  return {
    migrateMs: Math.round(migrateMs),
    messages: count,
    ...extras,
    import: { ...report, loadMs, loadMessagesPerSecond: Math.round(count / (loadMs / 1000)), messagesPerSecond: Math.round(count / (report.ms / 1000)) },
    bytes: { perMessage: Math.round(Number(sizes.total) / count), table: Number(sizes.total), hnswIndex: Number(sizes.hnsw) },
  };
}

function makeRequests(random, vocab, users, n) {
  return Array.from({ length: n }, () => {
    const user = pick(random, users);
    return { userId: user.userId, sessionId: pick(random, user.sessions).sessionId, query: queryFor(random, vocab, user), recentLimit: 10, topK: 8 };
  });
}

async function latency(store, requests) {
  const search = [];
  const embedding = [];
  const wall = [];
  const searchMs = [];
  const slowest = [];
  let relevant = 0;
  let withPreferences = 0;
  let withContext = 0;
  for (const request of requests) {
    const t0 = performance.now();
    const bundle = await store.retrieveContext({ ...request, useCache: false });
    const ms = performance.now() - t0;
    if (bundle.stats.cacheHit) throw new Error('a useCache: false request reported a cache hit');
    wall.push(ms);
    embedding.push(bundle.stats.embeddingMs);
    search.push(ms - bundle.stats.embeddingMs);
    searchMs.push(bundle.stats.searchMs);
    relevant += bundle.relevantMessages.length;
    if (bundle.preferences.length > 0) withPreferences += 1;
    if (bundle.context.length > 0) withContext += 1;
    slowest.push({ ms: round(ms), searchMs: round(bundle.stats.searchMs), candidates: bundle.stats.candidates, request });
  }
  slowest.sort((a, b) => b.ms - a.ms);
  return {
    withoutEmbeddingMs: summary(search),
    embeddingMs: summary(embedding),
    wallMs: summary(wall),
    statsSearchMs: summary(searchMs),
    meanRelevantMessages: round(relevant / requests.length),
    withPreferences,
    withContext,
    slowest: slowest.slice(0, 5),
  };
}

async function cacheHits(store, requests) {
  for (const request of requests) await store.retrieveContext({ ...request, useCache: true });
  const ms = [];
  let hits = 0;
  for (const request of requests) {
    const t0 = performance.now();
    const bundle = await store.retrieveContext({ ...request, useCache: true });
    ms.push(performance.now() - t0);
    if (bundle.stats.cacheHit === true) hits += 1;
  }
  return { requests: requests.length, hits, allHits: hits === requests.length, ms: summary(ms) };
}

async function recall(client, random, vocab, users, embedder) {
  const pairs = [];
  for (let i = 0; i < RECALL_PAIRS; i += 1) {
    const user = pick(random, users);
    pairs.push({ userId: user.userId, vector: `[${(await embedder.embed([queryFor(random, vocab, user)]))[0].join(',')}]` });
  }
  const sql = (limit) =>
    `SELECT message_id, embedding OPERATOR(public.<=>) $2::public.vector AS distance FROM ${SCHEMA}.conversation_messages
      WHERE user_id = $1 AND embedding IS NOT NULL AND in_vector_graph ORDER BY embedding OPERATOR(public.<=>) $2::public.vector LIMIT ${limit}`;
  // The plan retrieveContext's vectorCandidates gets for a user in the graph: its settings (sorting off: the graph gives the order).
  const approximateSettings = `SET LOCAL hnsw.ef_search = ${EF_SEARCH}; SET LOCAL hnsw.iterative_scan = relaxed_order; SET LOCAL enable_sort = off`;
  const retrievalSettings = approximateSettings;
  const inTransaction = async (settings, work) => {
    await client.query('BEGIN');
    try {
      await client.query(settings);
      return await work();
    } finally {
      await client.query('ROLLBACK');
    }
  };

  // The plan: the HNSW index must be the one ordering the rows.
  const planOf = async (settings) =>
    inTransaction(settings, async () => (await client.query(`EXPLAIN ${sql(10)}`, [pairs[0].userId, pairs[0].vector])).rows.map((r) => r['QUERY PLAN']).join('\n').replace(/'\[[^\]]*\]'/g, "'[...]'"));
  const approximatePlan = await planOf(approximateSettings);
  const usesHnsw = /idx_conversation_messages_embedding/.test(approximatePlan);
  const exactPlan = await planOf('SET LOCAL enable_indexscan = off');
  const retrievalPlan = await inTransaction(retrievalSettings, async () => (await client.query(`EXPLAIN ${sql(50)}`, [pairs[0].userId, pairs[0].vector])).rows.map((r) => r['QUERY PLAN']).join('\n').replace(/'\[[^\]]*\]'/g, "'[...]'"));
  const retrievalUsesHnsw = /idx_conversation_messages_embedding/.test(retrievalPlan);
  if (!usesHnsw) log(`WARNING: the approximate query does not use the HNSW index:\n${approximatePlan}`);

  let intersect = 0;
  let intersectTies = 0;
  let intersect50 = 0;
  let short = 0;
  const approxMs = [];
  const exactMs = [];
  for (const pair of pairs) {
    let t0 = performance.now();
    const approx = await inTransaction(approximateSettings, async () => (await client.query(sql(10), [pair.userId, pair.vector])).rows);
    approxMs.push(performance.now() - t0);
    // As vectorCandidates uses it: 50 candidates (ef_search 100), re-sorted by distance, top 10.
    const approx50 = await inTransaction(approximateSettings, async () => (await client.query(sql(50), [pair.userId, pair.vector])).rows);
    t0 = performance.now();
    const exact = await inTransaction('SET LOCAL enable_indexscan = off', async () => (await client.query(sql(10), [pair.userId, pair.vector])).rows);
    exactMs.push(performance.now() - t0);
    if (approx.length < 10) short += 1;
    const truth = new Set(exact.map((r) => String(r.message_id)));
    intersect += approx.filter((r) => truth.has(String(r.message_id))).length;
    // Ties at the 10th exact distance count as found (identical distances are interchangeable).
    const kth = Number(exact[exact.length - 1]?.distance ?? Infinity);
    intersectTies += approx.filter((r) => truth.has(String(r.message_id)) || Number(r.distance) <= kth + 1e-9).length;
    const top10of50 = approx50.sort((a, b) => a.distance - b.distance).slice(0, 10);
    intersect50 += top10of50.filter((r) => truth.has(String(r.message_id))).length;
  }
  return {
    pairs: pairs.length,
    efSearch: EF_SEARCH,
    iterativeScan: 'relaxed_order',
    usesHnsw,
    retrievalUsesHnsw,
    recallAt10: round(intersect / (10 * pairs.length), 4),
    recallAt10CountingTies: round(intersectTies / (10 * pairs.length), 4),
    recallAt10FromTop50Resorted: round(intersect50 / (10 * pairs.length), 4),
    resultsShorterThan10: short,
    approximateMs: summary(approxMs),
    exactMs: summary(exactMs),
    approximatePlan,
    exactPlan,
    retrievalPlan,
  };
}

// ---------------------------------------------------------------- report

const planName = (h) => (h.retrievalUsesHnsw ? 'HNSW index' : 'no HNSW: ' + (h.retrievalPlan.match(/(Index Scan using \S+|Bitmap Heap Scan|Seq Scan)/)?.[0] ?? 'other'));

function table(result) {
  const { setup: s, retrieval: r, cache: c } = result;
  const ok = (good) => (good ? 'met' : '**missed**');
  const ms = (x) => `${x.toFixed(2)} ms`;
  const lines = [
    `retrieveContext on PostgreSQL (${result.server}), ${s.messages.toLocaleString('en')} messages, ${result.parameters.users.toLocaleString('en')} users x ${result.parameters.perUser} (${result.parameters.sessions} sessions each), ${result.date}, node ${result.machine.node}, ${result.machine.cpus} cores\n`,
    '| figure | value | goal |',
    '| --- | --- | --- |',
    ...(s.import
      ? [
          `| importMessages, whole run (load, then HNSW build) | ${s.import.messagesPerSecond.toLocaleString('en')} messages/s; ${(s.import.ms / 1000).toFixed(1)} s total | >= 10,000 messages/s: ${ok(s.import.messagesPerSecond >= 10_000)} |`,
          `| of which the load (batches of 2,000, two at once, no HNSW index) | ${s.import.loadMessagesPerSecond.toLocaleString('en')} messages/s; ${(s.import.loadMs / 1000).toFixed(1)} s | |`,
          `| of which the HNSW build after the load: the ${s.import.vectorGraph.messages.toLocaleString('en')} messages of the ${s.import.vectorGraph.users} users past 20,000 (maintenance_work_mem ${INDEX_BUILD_MEMORY}) | ${(s.import.vectorIndex.ms / 1000).toFixed(1)} s | |`,
          `| bytes per message (table + indexes + TOAST) | ${s.bytes.perMessage.toLocaleString('en')} (HNSW ${Math.round(s.bytes.hnswIndex / s.messages)}) | |`,
        ]
      : [
          `| ingest, storeMessages in calls of 500 | ${s.messagesPerSecond.toLocaleString('en')} messages/s; ${(s.ingestMs / 1000).toFixed(1)} s total | |`,
          `| joinVectorGraph after it: large users' messages into the HNSW graph | ${s.vectorGraph.messages.toLocaleString('en')} messages of ${s.vectorGraph.users} users in ${(s.vectorGraph.ms / 1000).toFixed(1)} s | |`,
          `| HNSW build, REINDEX (maintenance_work_mem ${s.hnswBuild.settings.maintenance_work_mem}) | ${s.hnswBuild.reindex.permitted ? `${(s.hnswBuild.reindex.ms / 1000).toFixed(1)} s` : `not permitted: ${s.hnswBuild.reindex.error}`} | |`,
          `| bytes per message (table + indexes + TOAST) | ${s.bytes.perMessage.toLocaleString('en')} (HNSW ${Math.round(s.bytes.hnswIndexAfterIngest / s.messages)}) | |`,
        ]),
    `| peak RSS of the bench process | ${result.peakRssMb} MB | |`,
    `| retrieveContext p50, without query embedding | ${ms(r.withoutEmbeddingMs.p50)} | <= ${GOALS.p50} ms: ${ok(r.withoutEmbeddingMs.p50 <= GOALS.p50)} |`,
    `| retrieveContext p95, without query embedding | ${ms(r.withoutEmbeddingMs.p95)} | <= ${GOALS.p95} ms: ${ok(r.withoutEmbeddingMs.p95 <= GOALS.p95)} |`,
    `| query embedding p50 / p95 (bench hashing embedder) | ${ms(r.embeddingMs.p50)} / ${ms(r.embeddingMs.p95)} | |`,
    `| cache hit p50 / p95 (${c.hits}/${c.requests} hits) | ${ms(c.ms.p50)} / ${ms(c.ms.p95)} | p50 <= ${GOALS.cacheP50} ms: ${ok(c.ms.p50 <= GOALS.cacheP50 && c.allHits)} |`,
    `| vector search recall@10, users up to 20,000 messages | 1 (exact search, not in the graph) | >= ${GOALS.recall}: met |`,
    ...(result.largeUsers
      ? [
          `| large users (${result.largeUsers.users} x ${result.largeUsers.messagesEach.toLocaleString('en')} messages): retrieveContext's HNSW search, recall@10 (top 10 of 50) | ${result.largeUsers.recall.recallAt10FromTop50Resorted.toFixed(3)}${result.largeUsers.recall.retrievalUsesHnsw ? '' : ' (index NOT used)'} | >= ${GOALS.recall}: ${ok(result.largeUsers.recall.recallAt10FromTop50Resorted >= GOALS.recall)} |`,
          `| large users: retrieveContext p50 / p95 without embedding | ${ms(result.largeUsers.latency.withoutEmbeddingMs.p50)} / ${ms(result.largeUsers.latency.withoutEmbeddingMs.p95)} | |`,
        ]
      : []),
    ...(result.largeUsers ? [`| plan of retrieveContext's vector query for a large user | ${planName(result.largeUsers.recall)} | |`] : []),
  ];
  return lines.join('\n');
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const runStarted = performance.now();
  const random = mulberry32(args.seed);
  const vocab = vocabulary(random);
  const users = makeUsers(args, random);
  const embedder = hashingEmbedder();

  const client = await connect(args.url);
  if (args.recallOnly) {
    // On a schema kept by an earlier --keep run: only the recall measurement, for tuning ef_search.
    const result = await recall(client, random, vocab, users.filter((user) => user.big), embedder);
    log(`ef_search ${EF_SEARCH}: recall@10 ${result.recallAt10}, top 10 of 50 ${result.recallAt10Of50 ?? ''}`);
    await client.end();
    return;
  }
  await dropSchema(args.url, SCHEMA);
  const store = openMemory({ connectionString: args.url, schema: SCHEMA, dimensions: DIMENSIONS, embeddings: embedder });
  let result;
  try {
    const { rows: [server] } = await client.query(`SELECT current_setting('server_version') AS version, (SELECT extversion FROM pg_extension WHERE extname = 'vector') AS pgvector`);
    log(`PostgreSQL ${server.version}, pgvector ${server.pgvector}; ${args.users} users x ${args.perUser} messages`);
    const setupResult = await setup(args, store, client, random, vocab, users);

    const small = users.filter((user) => !user.big);
    const requests = makeRequests(random, vocab, small, WARMUP + args.queries);
    for (const request of requests.slice(0, WARMUP)) await store.retrieveContext({ ...request, useCache: false });
    const measured = requests.slice(WARMUP);
    log(`measuring ${measured.length} retrieveContext calls`);
    const retrieval = await latency(store, measured);
    log(`retrieveContext p50 ${retrieval.withoutEmbeddingMs.p50} ms, p95 ${retrieval.withoutEmbeddingMs.p95} ms (without embedding)`);
    const cacheRequests = Array.from({ length: CACHE_REQUESTS }, (_, i) => measured[i % measured.length]);
    const cache = await cacheHits(store, cacheRequests);
    log(`cache hit p50 ${cache.ms.p50} ms (${cache.hits}/${cache.requests} hits)`);
    const bigUsers = users.filter((user) => user.big);
    const bigRecall = bigUsers.length ? await recall(client, random, vocab, bigUsers, embedder) : null;
    if (bigRecall) log(`large users, retrieveContext's HNSW plan: recall@10 ${bigRecall.recallAt10FromTop50Resorted} (index used: ${bigRecall.retrievalUsesHnsw})`);
    const bigLatency = bigUsers.length ? await latency(store, makeRequests(random, vocab, bigUsers, 100)) : null;

    result = {
      benchmark: 'retrieveContext at scale',
      date: new Date().toISOString(),
      machine: machine(),
      server: `PostgreSQL ${server.version}, pgvector ${server.pgvector}`,
      parameters: {
        users: args.users,
        perUser: args.perUser,
        sessions: args.sessions,
        queries: args.queries,
        warmup: WARMUP,
        batch: BATCH,
        seed: args.seed,
        vocabulary: vocab.size,
        topics: TOPICS,
        topicsPerUser: TOPICS_PER_USER,
        embedder: embedder.id,
        dimensions: DIMENSIONS,
        request: { recentLimit: 10, topK: 8, useCache: false, scope: 'user' },
        cacheRequests: CACHE_REQUESTS,
        recallPairs: RECALL_PAIRS,
      },
      goals: { retrieveP50Ms: GOALS.p50, retrieveP95Ms: GOALS.p95, cacheHitP50Ms: GOALS.cacheP50, recallAt10: GOALS.recall },
      setup: setupResult,
      retrieval,
      cache,
      largeUsers: bigRecall && { users: bigUsers.length, messagesEach: args.bigPerUser, recall: bigRecall, latency: bigLatency },
      peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
      runSeconds: 0,
    };
  } finally {
    await store.close().catch(() => {});
    await closeAllMemory().catch(() => {});
    await client.end().catch(() => {});
    if (!args.keep) await dropSchema(args.url, SCHEMA).catch((error) => log(`could not drop ${SCHEMA}: ${error.message}`));
    else log(`schema ${SCHEMA} kept (--keep): drop it with DROP SCHEMA ${SCHEMA} CASCADE`);
  }
  result.runSeconds = Math.round((performance.now() - runStarted) / 1000);
  const file = path.join(__dirname, 'results', args.import ? 'retrieval-import.json' : 'retrieval.json');
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  console.log(table(result));
  console.log(`\nRun took ${result.runSeconds} s; results in ${path.relative(process.cwd(), file)}`);
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
