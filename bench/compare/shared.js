// What the comparison phases share: the corpus, fresh schemas, timing.
const { Pool } = require('pg');
const { openMemory } = require('../../dist/core/index.js');
const { dropSchema, percentile, spread } = require('../common');
const { DIMENSIONS, mulberry32, hashingEmbedder, vocabulary, makeUsers, userMessages, queryFor, pick } = require('../synthetic');
const { openBaseline } = require('../baseline-langchain');

const log = (text) => process.stderr.write(`[bench] ${text}\n`);
const embedder = hashingEmbedder(DIMENSIONS);

/** `count` messages of count/100 users (100 each, 5 sessions), the same for every system under test. */
function corpus(count, seed) {
  const random = mulberry32(seed);
  const vocab = vocabulary(random);
  const users = makeUsers({ users: Math.max(1, Math.round(count / 100)), perUser: 100, sessions: 5, bigUsers: 0 }, random);
  return {
    users,
    /** The messages user by user, lazily: 1M messages are never all in memory. */
    *messages() {
      for (const user of users) yield* userMessages(random, vocab, user, user.perUser);
    },
    queries: (n) =>
      Array.from({ length: n }, () => {
        const user = pick(random, users);
        return { userId: user.userId, sessionId: pick(random, user.sessions).sessionId, query: queryFor(random, vocab, user) };
      }),
  };
}

/** The same vectors for everyone, computed before any clock starts. */
async function withVectors(messages) {
  const vectors = await embedder.embed(messages.map((m) => m.content));
  return messages.map((m, k) => ({ ...m, embedding: vectors[k] }));
}

/** Groups of `size` from an iterable. */
function* batches(iterable, size) {
  let batch = [];
  for (const item of iterable) {
    batch.push(item);
    if (batch.length === size) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length > 0) yield batch;
}

/** A migrated LTST store in a new schema (dropped first). */
async function freshStore(url, schema, embeddings = { provider: 'none' }) {
  await dropSchema(url, schema);
  const store = openMemory({ connectionString: url, schema, dimensions: DIMENSIONS, embeddings });
  await store.migrate();
  return store;
}

/** The LangChain baseline in a new schema (dropped first); `typedColumn` gives the vector column its dimension. */
async function freshBaseline(url, schema, typedColumn = false) {
  await dropSchema(url, schema);
  return openBaseline({ url, schema, dimensions: DIMENSIONS, typedColumn });
}

/** Milliseconds `work` takes. */
async function timed(work) {
  const started = performance.now();
  await work();
  return performance.now() - started;
}

/** Milliseconds of each call, one after another. */
async function latencies(items, call) {
  const ms = [];
  for (const item of items) {
    const started = performance.now();
    await call(item);
    ms.push(performance.now() - started);
  }
  return ms;
}

/** p50 and p95 of each round's latencies, then their spread over the rounds. */
const latencySpread = (roundsMs) => ({ p50: spread(roundsMs.map((ms) => percentile(ms, 50))), p95: spread(roundsMs.map((ms) => percentile(ms, 95))) });

const pools = new Map();

/** One statement on `url`, through a small pool kept for the run (closeSql ends it). */
async function sql(url, text, params) {
  let pool = pools.get(url);
  if (!pool) pools.set(url, (pool = new Pool({ connectionString: url, max: 2, allowExitOnIdle: true })));
  return (await pool.query(text, params)).rows;
}

async function closeSql() {
  await Promise.all([...pools.values()].map((pool) => pool.end()));
  pools.clear();
}

module.exports = { log, embedder, corpus, withVectors, batches, freshStore, freshBaseline, timed, latencies, latencySpread, sql, closeSql, dropSchema };
