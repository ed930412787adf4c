// Semantic recall and scaling: `scale` messages of scale/100 users in both stores, the same texts
// and vectors. Top 10 for one user: LTST retrieveContext (user filter, hybrid scoring) against
// PGVectorStore.similaritySearchVectorWithScore with n8n's metadata filter on the user, without an
// index used (as n8n's node creates the table, its column has no dimension, so even LangChain's
// createHnswIndex cannot serve the search) and, as the best PGVectorStore offers, with a typed column
// and its HNSW index. Recall@10 against exact search; index build times; bytes per message.
const { round } = require('../common');
const { DIMENSIONS } = require('../synthetic');
const { log, embedder, corpus, withVectors, batches, freshStore, freshBaseline, timed, latencies, latencySpread, sql } = require('./shared');

const SCHEMA = 'ltst_bench_cmp_scale';
const BASELINE_SCHEMA = 'ltst_bench_cmp_scale_lc';
const TYPED_SCHEMA = 'ltst_bench_cmp_scale_lct';
const QUERIES = 200;
const WARMUP = 20;

const request = (q) => ({ userId: q.userId, query: q.query, topK: 10, recentLimit: 0, includePreferences: false, includeContext: false, includeRelatedSessions: false, useCache: false });
const cosineDistance = (a, b) => 1 - a.reduce((sum, x, i) => sum + x * b[i], 0); // unit vectors

/** Share of the exact top 10 found; a message as near as the 10th (a tie) counts as found. */
async function recallOf(found, truth, q) {
  let hits = 0;
  for (const text of found.slice(0, 10)) {
    if (truth.texts.has(text) || cosineDistance(q.vector, (await embedder.embed([text]))[0]) <= truth.kth + 1e-6) hits += 1;
  }
  return hits / truth.texts.size;
}

/** Loads the stores with the same batches of 500; LTST's and n8n's PGVectorStore's own time. */
async function load(store, baseline, typed, data, scale) {
  let ltstMs = 0;
  let langchainMs = 0;
  let stored = 0;
  for (const batch of batches(data.messages(), 500)) {
    const rows = await withVectors(batch);
    ltstMs += await timed(() => store.storeMessages(rows));
    const documents = rows.map((m) => ({ text: m.content, vector: m.embedding, metadata: { userId: m.userId, sessionId: m.sessionId } }));
    langchainMs += await timed(() => baseline.addVectors(documents));
    await typed.addVectors(documents);
    stored += rows.length;
    if (stored % 50_000 === 0) log(`scale ${scale}: ${stored.toLocaleString('en')} stored in both`);
  }
  return { messages: stored, ltstPerSecond: stored / (ltstMs / 1000), langchainPerSecond: stored / (langchainMs / 1000) };
}

/** `repeats` rounds of one call per query: p50 and p95 over the rounds. */
async function rounds(repeats, queries, call) {
  const roundsMs = [];
  for (let r = 0; r < repeats; r += 1) roundsMs.push(await latencies(queries, call));
  return latencySpread(roundsMs);
}

async function scalePhase({ url, scale, repeats, seed, keep = false }) {
  const data = corpus(scale, seed);
  const store = await freshStore(url, SCHEMA, embedder);
  const baseline = await freshBaseline(url, BASELINE_SCHEMA);
  const typed = await freshBaseline(url, TYPED_SCHEMA, true);
  try {
    const loaded = await load(store, baseline, typed, data, scale);
    await sql(url, `ANALYZE ${SCHEMA}.conversation_messages`);
    const queries = await Promise.all(data.queries(WARMUP + QUERIES).map(async (q) => ({ ...q, vector: (await embedder.embed([q.query]))[0] })));
    const measured = queries.slice(WARMUP);

    // The truth: exact cosine top 10 of the user's messages (the same vectors are in both stores).
    const truth = new Map();
    for (const q of measured) {
      const rows = await sql(url, `SELECT content, embedding OPERATOR(public.<=>) $2::public.vector AS distance FROM ${SCHEMA}.conversation_messages WHERE user_id = $1 ORDER BY 2, message_id LIMIT 10`, [q.userId, `[${q.vector.join(',')}]`]);
      truth.set(q, { texts: new Set(rows.map((r) => r.content)), kth: Number(rows[rows.length - 1].distance) });
    }

    // LTST: latency of the hybrid request; recall of its vector search (top 10 by cosine of the 50 it ranks on vectors alone).
    for (const q of queries.slice(0, WARMUP)) await store.retrieveContext(request(q));
    const ltstLatency = await rounds(repeats, measured, (q) => store.retrieveContext(request(q)));
    let ltstRecall = 0;
    for (const q of measured) {
      const bundle = await store.retrieveContext({ ...request(q), topK: 50, fusionWeights: { vector: 1, text: 0 } });
      const top = bundle.relevantMessages.filter((m) => m.scores.vector !== null).sort((a, b) => b.scores.vector - a.scores.vector).slice(0, 10);
      ltstRecall += await recallOf(top.map((m) => m.content), truth.get(q), q);
    }

    // LangChain as n8n's node creates it (exact scan), and on a typed column with its HNSW index.
    const measure = async (vectors) => {
      const search = (q) => vectors.search(q.vector, 10, q.userId);
      for (const q of queries.slice(0, WARMUP)) await search(q);
      const latency = await rounds(repeats, measured, search);
      let recall = 0;
      for (const q of measured) recall += await recallOf((await search(q)).map((d) => d.text), truth.get(q), q);
      return { latency, recallAt10: round(recall / measured.length, 4) };
    };
    const noIndex = await measure(baseline);
    const langchainIndexMs = (await typed.createHnswIndex()).ms;
    const hnsw = { ...(await measure(typed)), buildMs: Math.round(langchainIndexMs) };

    const ltstIndexMs = await timed(() => sql(url, `REINDEX INDEX ${SCHEMA}.idx_conversation_messages_embedding`));
    const [sizes] = await sql(url, `SELECT pg_total_relation_size('${SCHEMA}.conversation_messages')::bigint AS total`);
    const baselineSizes = await baseline.sizes();
    const result = {
      scale,
      users: data.users.length,
      dimensions: DIMENSIONS,
      queries: measured.length,
      ingest: { ltstPerSecond: Math.round(loaded.ltstPerSecond), langchainAddVectorsPerSecond: Math.round(loaded.langchainPerSecond) },
      ltst: { latency: ltstLatency, recallAt10: round(ltstRecall / measured.length, 4), hnswBuildMs: Math.round(ltstIndexMs), bytesPerMessage: Math.round(Number(sizes.total) / loaded.messages) },
      langchain: { noIndex, hnsw, bytesPerMessage: Math.round(baselineSizes.vectorBytes / baselineSizes.vectorRows) },
      peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
    };
    log(`scale ${scale}: LTST p50 ${ltstLatency.p50.median} ms recall ${result.ltst.recallAt10}; LangChain no index p50 ${noIndex.latency.p50.median} ms recall ${noIndex.recallAt10}; HNSW p50 ${hnsw.latency.p50.median} ms recall ${hnsw.recallAt10}`);
    return { result, store };
  } finally {
    await baseline.close();
    await typed.close();
    if (!keep) await store.close();
  }
}

module.exports = { scalePhase, SCHEMAS: [SCHEMA, BASELINE_SCHEMA, TYPED_SCHEMA] };
