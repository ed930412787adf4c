// Self-check of bench/baseline-langchain.js against a PostgreSQL server with pgvector:
//   node bench/baseline-langchain-check.js [--url postgres://...]
// Works in its own schema and drops it at the end; exits 1 on any failed expectation.
// First as n8n's nodes run it (untyped embedding column), then with typedColumn, to show which HNSW index the
// search can use.
const assert = require('node:assert/strict');
const { randomUUID } = require('node:crypto');
const { openBaseline, CHAT_TABLE, VECTOR_TABLE, HNSW_INDEX } = require('./baseline-langchain.js');
const { dropSchema } = require('./common.js');

const urlArg = process.argv.indexOf('--url');
const URL = urlArg > 0 ? process.argv[urlArg + 1] : process.env.LTST_BENCH_DATABASE_URL || 'postgres://ltst:ltst@127.0.0.1:5432/ltst_test';
const SCHEMA = 'ltst_bench_langchain_check';
const DIMS = 384;

const unitVector = () => {
  const v = Array.from({ length: DIMS }, () => Math.random() * 2 - 1);
  const norm = Math.hypot(...v);
  return v.map((x) => x / norm);
};
const cosineDistance = (a, b) => 1 - a.reduce((s, x, i) => s + x * b[i], 0); // both unit vectors
const timed = async (work) => { const t = performance.now(); const r = await work(); return [r, performance.now() - t]; };
const ms = (x) => `${x.toFixed(1)} ms`;

/** Runs `work` while recording the SQL the baseline sends through its pool (LangChain's own statements). */
async function captureSql(pool, work) {
  const seen = [];
  const query = pool.query;
  pool.query = function (text, values, ...rest) {
    seen.push({ text: typeof text === 'string' ? text : text.text, values });
    return query.call(this, text, values, ...rest);
  };
  try { await work(); } finally { pool.query = query; }
  return seen;
}
/** The plan of a captured statement; by default with sequential scans off, so any usable index shows up even on 300 rows. */
async function explain(pool, { text, values }, seqscan = false) {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    if (!seqscan) await client.query('SET LOCAL enable_seqscan = off');
    const plan = (await client.query(`EXPLAIN (COSTS OFF) ${text}`, values)).rows.map((r) => r['QUERY PLAN']).join('\n    ');
    return plan.replace(/'\[[^\]]*\]'::vector/g, '<query vector>');
  } finally {
    await client.query('ROLLBACK');
    client.release();
  }
}
const oneLine = (sql) => sql.replace(/\s+/g, ' ').trim();

const usesHnsw = (plan) => plan.includes(`Index Scan using ${HNSW_INDEX}`);
const makeRows = () => Array.from({ length: 300 }, (_, i) => ({ id: randomUUID(), text: `doc ${i}`, vector: unitVector(), metadata: { userId: ['u1', 'u2', 'u3'][i % 3], sessionId: `s${i % 7}` } }));

/** The baseline as n8n's two nodes use it. */
async function n8nDefaults() {
  const [base, openMs] = await timed(() => openBaseline({ url: URL, schema: SCHEMA, dimensions: DIMS }));
  try {
    console.log('versions', base.versions);
    console.log(`open (schema, both tables): ${ms(openMs)}`);

    // Short-term memory: 30 messages in each of two sessions, interleaved, alternating human/ai.
    const [, addMs] = await timed(async () => {
      for (let i = 0; i < 30; i += 1) {
        for (const s of ['s1', 's2']) await base.addMessage(s, i % 2 === 0 ? 'human' : 'ai', `${s} message ${i}`);
      }
    });
    console.log(`addMessage x60: ${ms(addMs)} (${ms(addMs / 60)} each)`);
    let window;
    const [loadSql, loadMs] = await timed(() => captureSql(base.pool, async () => { window = await base.loadWindow('s1'); }));
    assert.deepEqual(window, Array.from({ length: 10 }, (_, j) => ({ role: (20 + j) % 2 === 0 ? 'human' : 'ai', content: `s1 message ${20 + j}` })));
    assert.equal((await base.loadWindow('s2', 2)).map((m) => m.content).join('|'), 's2 message 26|s2 message 27|s2 message 28|s2 message 29');
    console.log(`loadWindow(k=5) -> last 10 in order: ${ms(loadMs)}`);
    console.log('  SQL:', loadSql.map((s) => oneLine(s.text)).join(' ; '));
    console.log('  plan:\n    ' + await explain(base.pool, loadSql[0], true));

    // Semantic recall: 100 random unit vectors for each of 3 users.
    const rows = makeRows();
    const [, vecMs] = await timed(() => base.addVectors(rows));
    console.log(`addVectors x300 (one call): ${ms(vecMs)}`);

    const query = unitVector();
    const exact = rows.filter((r) => r.metadata.userId === 'u2').map((r) => ({ text: r.text, d: cosineDistance(query, r.vector) })).sort((a, b) => a.d - b.d);
    let hits;
    const [searchSql, searchMs] = await timed(() => captureSql(base.pool, async () => { hits = await base.search(query, 10, 'u2'); }));
    assert.equal(hits.length, 10);
    assert.ok(hits.every((h) => h.metadata.userId === 'u2'), 'every hit carries the filtered userId');
    assert.deepEqual(hits.map((h) => h.text), exact.slice(0, 10).map((e) => e.text), 'exact top 10, nearest first');
    assert.ok(Math.abs(hits[0].score - exact[0].d) < 1e-5, 'score is the cosine distance');
    console.log(`search(k=10, userId) exact, nearest first: ${ms(searchMs)}`);
    console.log('  SQL:', oneLine(searchSql[0].text), ' params: [vector, 10, "u2"]');

    const { ms: hnswMs } = await base.createHnswIndex();
    console.log(`createHnswIndex (300 rows): ${ms(hnswMs)}`);
    const unfiltered = { text: searchSql[0].text.replace(/WHERE[^\n]*\n/, ''), values: searchSql[0].values.slice(0, 2) };
    const plans = { filtered: await explain(base.pool, searchSql[0]), unfiltered: await explain(base.pool, unfiltered) };
    console.log('  search plan with HNSW (enable_seqscan off):\n    ' + plans.filtered);
    // The index is on (embedding::vector(384)) but the search orders by embedding: never usable.
    assert.ok(!usesHnsw(plans.filtered) && !usesHnsw(plans.unfiltered), 'the untyped column\'s HNSW index is not usable');
    assert.deepEqual((await base.search(query, 10, 'u2')).map((h) => h.text), hits.map((h) => h.text));

    const indexes = await base.pool.query('SELECT tablename, indexdef FROM pg_indexes WHERE schemaname = $1 ORDER BY tablename, indexname', [SCHEMA]);
    console.log('indexes (HNSW present):');
    for (const r of indexes.rows) console.log(`  ${r.tablename}: ${r.indexdef}`);
    const columns = await base.pool.query(`SELECT (SELECT relname FROM pg_class WHERE oid = attrelid) AS t, attname, format_type(atttypid, atttypmod) AS type FROM pg_attribute
      WHERE attrelid IN ($1::regclass, $2::regclass) AND attnum > 0 AND NOT attisdropped ORDER BY attrelid, attnum`, [`${SCHEMA}.${CHAT_TABLE}`, `${SCHEMA}.${VECTOR_TABLE}`]);
    console.log('columns:', columns.rows.map((r) => `${r.t}.${r.attname} ${r.type}`).join(', '));
    await base.dropHnswIndex();
    const left = (await base.pool.query('SELECT tablename, indexname FROM pg_indexes WHERE schemaname = $1 ORDER BY tablename', [SCHEMA])).rows;
    assert.deepEqual(left, [{ tablename: CHAT_TABLE, indexname: `${CHAT_TABLE}_pkey` }, { tablename: VECTOR_TABLE, indexname: `${VECTOR_TABLE}_pkey` }]);
    console.log('indexes after dropHnswIndex:', left.map((r) => r.indexname).join(', '));

    const sizes = await base.sizes();
    assert.equal(sizes.chatRows, 60);
    assert.equal(sizes.vectorRows, 300);
    console.log('sizes', sizes);
  } finally {
    await base.close();
  }
}

/** typedColumn: the embedding column is vector(384), so the same createHnswIndex gives an index the search uses. */
async function typedColumn() {
  const base = await openBaseline({ url: URL, schema: SCHEMA, dimensions: DIMS, typedColumn: true });
  try {
    const rows = makeRows();
    await base.addVectors(rows);
    const { ms: hnswMs } = await base.createHnswIndex();
    const query = unitVector();
    let hits;
    const [searchSql, searchMs] = await timed(() => captureSql(base.pool, async () => { hits = await base.search(query, 10, 'u2'); }));
    const plan = await explain(base.pool, searchSql[0]);
    console.log(`typedColumn: createHnswIndex (300 rows) ${ms(hnswMs)}, search ${ms(searchMs)}, ${hits.length} hits`);
    console.log('  index:', (await base.pool.query('SELECT indexdef FROM pg_indexes WHERE schemaname = $1 AND indexname = $2', [SCHEMA, HNSW_INDEX])).rows[0].indexdef);
    console.log('  search plan (enable_seqscan off):\n    ' + plan);
    assert.ok(usesHnsw(plan), 'the typed column\'s HNSW index is usable');
    assert.ok(hits.every((h) => h.metadata.userId === 'u2'));
    await base.dropHnswIndex();
  } finally {
    await base.close();
  }
}

(async () => {
  await dropSchema(URL, SCHEMA);
  try {
    await n8nDefaults();
    await dropSchema(URL, SCHEMA);
    await typedColumn();
  } finally {
    await dropSchema(URL, SCHEMA);
  }
  console.log('ok');
})().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
