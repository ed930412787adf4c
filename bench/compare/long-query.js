// Long queries: retrieveContext time for queries of 5, 50, 500 and 5,000 distinct words over one
// user with about 5,000 messages. Retrieve Context's query defaults to the chat input, so a pasted
// document is a normal query; its work must stay bounded (query cut to MAX_QUERY_CHARS, at most
// MAX_QUERY_TERMS terms searched). Goal: the largest within 3x the smallest (p50).
// The messages are LoCoMo turns (../shared/data/locomo, read at run time, all five conversations
// as one user, cycled to MESSAGES), or the synthetic corpus when LoCoMo is absent.
const fs = require('node:fs');
const { DATA_DIR, loadLocomo } = require('../locomo-data');
const { mulberry32, vocabulary } = require('../synthetic');
const { log, embedder, corpus, batches, freshStore, latencies, latencySpread, dropSchema } = require('./shared');

const SCHEMA = 'ltst_bench_cmp_longquery';
const USER = 'long-query-user';
const MESSAGES = 5_000;
const SIZES = [5, 50, 500, 5_000];
const QUERIES = 15;

/** MESSAGES turns of one user, in sessions of the source's own sessions (a cycle of LoCoMo is a new set of sessions). */
function userTurns(seed) {
  const source = fs.existsSync(DATA_DIR) ? 'LoCoMo' : 'synthetic';
  const turns = source === 'LoCoMo' ? loadLocomo(DATA_DIR).flatMap((c) => c.messages) : [...corpus(MESSAGES, seed).messages()];
  const messages = Array.from({ length: MESSAGES }, (_, i) => {
    const turn = turns[i % turns.length];
    return { userId: USER, sessionId: `${USER}:${turn.sessionId}:${Math.floor(i / turns.length)}`, role: turn.role, content: turn.content, timestamp: turn.timestamp };
  });
  return { source, messages };
}

/** Distinct words of the user's messages in a seeded random order, then made-up words the user never wrote. */
function wordPool(messages, seed) {
  const random = mulberry32(seed);
  const own = [...new Set(messages.flatMap((m) => m.content.toLowerCase().match(/[a-z]+/g) ?? []))];
  for (let i = own.length - 1; i > 0; i -= 1) {
    const j = Math.floor(random() * (i + 1));
    [own[i], own[j]] = [own[j], own[i]];
  }
  const seen = new Set(own);
  const foreign = vocabulary(random).topics.flat().filter((w) => !seen.has(w));
  return [...own, ...foreign];
}

/** QUERIES queries of `size` distinct words each, every one a different window of the pool. */
function queriesOf(pool, size) {
  if (pool.length < size) throw new Error(`the word pool has ${pool.length} words, fewer than ${size}`);
  return Array.from({ length: QUERIES }, (_, q) => {
    const start = Math.floor((q * (pool.length - size)) / Math.max(1, QUERIES - 1));
    return pool.slice(start, start + size).join(' ');
  });
}

async function longQueryPhase({ url, repeats, seed }) {
  const store = await freshStore(url, SCHEMA, embedder);
  try {
    const { source, messages } = userTurns(seed);
    for (const batch of batches(messages, 500)) await store.storeMessages(batch);
    log(`long queries: ${messages.length} ${source} messages stored for one user`);
    const pool = wordPool(messages, seed);
    const request = (query) => ({ userId: USER, query, topK: 8, recentLimit: 0, useCache: false });
    const sizes = [];
    for (const size of SIZES) {
      const queries = queriesOf(pool, size);
      const last = await store.retrieveContext(request(queries[0])); // warm-up, and what was searched
      const roundsMs = [];
      for (let r = 0; r < repeats; r += 1) roundsMs.push(await latencies(queries, (query) => store.retrieveContext(request(query))));
      const { characters, truncated, terms, termsSearched } = last.stats.query;
      sizes.push({ words: size, characters, truncated, distinctTerms: terms, termsSearched, ...latencySpread(roundsMs) });
      log(`long queries: ${size} words, p50 ${sizes.at(-1).p50.median} ms, ${termsSearched} of ${terms} terms searched${truncated ? ', cut' : ''}`);
    }
    const ratio = (key) => Number((sizes.at(-1)[key].median / sizes[0][key].median).toFixed(2));
    return { source, messages: messages.length, queriesPerSize: QUERIES, sizes, ratio: { p50: ratio('p50'), p95: ratio('p95') } };
  } finally {
    await store.close();
    await dropSchema(url, SCHEMA);
  }
}

module.exports = { longQueryPhase };
