// Ingest: the same messages stored one at a time and in batches, against LangChain's
// PostgresChatMessageHistory.addMessage (what n8n's Postgres Chat Memory calls per message) and
// PGVectorStore.addVectors (what n8n's PGVector Store calls to insert).
const { openMemory, closeAllMemory } = require('../../dist/core/index.js');
const { spread } = require('../common');
const { log, corpus, withVectors, batches, freshStore, freshBaseline, timed, dropSchema } = require('./shared');

const SCHEMA = 'ltst_bench_cmp_ingest';
const BASELINE_SCHEMA = 'ltst_bench_cmp_ingest_lc';
const BATCH = 500;

async function runOnce(url, messages) {
  const rate = (ms) => messages.length / (ms / 1000);
  const result = {};

  let store = await freshStore(url, SCHEMA);
  result.ltstOneByOne = rate(await timed(async () => {
    for (const message of messages) await store.storeMessage(message);
  }));
  // Closed first: its buffered metrics must not be written while the schema is dropped.
  await store.close();
  store = await freshStore(url, SCHEMA);
  result.ltstBatched = rate(await timed(async () => {
    for (const batch of batches(messages, BATCH)) await store.storeMessages(batch);
  }));
  const withEmbedding = await withVectors(messages);
  await store.close();
  store = await freshStore(url, SCHEMA);
  result.ltstBatchedWithVectors = rate(await timed(async () => {
    for (const batch of batches(withEmbedding, BATCH)) await store.storeMessages(batch);
  }));
  await store.close();
  store = await freshStore(url, SCHEMA);
  result.ltstImportWithVectors = rate(await timed(() => store.importMessages(withEmbedding, { rebuildVectorIndex: true })));
  const embedded = openMemory({ embedded: {}, schema: SCHEMA, embeddings: { provider: 'none' } });
  await embedded.migrate();
  result.ltstBatchedPglite = rate(await timed(async () => {
    for (const batch of batches(messages, BATCH)) await embedded.storeMessages(batch);
  }));
  await closeAllMemory();

  const baseline = await freshBaseline(url, BASELINE_SCHEMA);
  try {
    result.langchainAddMessage = rate(await timed(async () => {
      for (const message of messages) await baseline.addMessage(message.sessionId, message.role, message.content);
    }));
    result.langchainAddVectors = rate(await timed(() =>
      baseline.addVectors(withEmbedding.map((m) => ({ text: m.content, vector: m.embedding, metadata: { userId: m.userId, sessionId: m.sessionId } }))),
    ));
  } finally {
    await baseline.close();
  }
  return result;
}

/** Messages per second of each way to store, over `repeats` runs on fresh schemas. */
async function ingestPhase({ url, count, repeats, seed }) {
  const messages = [...corpus(count, seed).messages()].slice(0, count);
  const runs = [];
  for (let r = 0; r < repeats; r += 1) {
    runs.push(await runOnce(url, messages));
    log(`ingest run ${r + 1}/${repeats}: ${Object.entries(runs[r]).map(([k, v]) => `${k} ${Math.round(v)}/s`).join(', ')}`);
  }
  await dropSchema(url, SCHEMA);
  await dropSchema(url, BASELINE_SCHEMA);
  const figures = Object.fromEntries(Object.keys(runs[0]).map((key) => [key, spread(runs.map((run) => run[key]))]));
  return { messages: messages.length, batch: BATCH, messagesPerSecond: figures };
}

module.exports = { ingestPhase };
