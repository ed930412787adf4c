// Window load: the last 10 messages of one session, at session lengths 100, 1,000 and 10,000.
// n8n's Postgres Chat Memory (BufferWindowMemory, k 5, over PostgresChatMessageHistory) reads the
// whole session and trims it in memory; LTST reads the newest 10 by (session, message_index).
// Measured with the sessions alone in their tables, then among 100,000 messages of other sessions.
const { log, corpus, batches, freshStore, freshBaseline, latencies, latencySpread, dropSchema } = require('./shared');
const { CHAT_TABLE } = require('../baseline-langchain');

const SCHEMA = 'ltst_bench_cmp_window';
const BASELINE_SCHEMA = 'ltst_bench_cmp_window_lc';
const LENGTHS = [100, 1_000, 10_000];
const USER = 'window-user';
// n8n keeps every session of every user in one n8n_chat_histories table, with no index on session_id.
const OTHERS = 100_000;

async function windowPhase({ url, repeats, seed, loads = 200 }) {
  const store = await freshStore(url, SCHEMA);
  const baseline = await freshBaseline(url, BASELINE_SCHEMA);
  try {
    // Sessions of each length with the same turns in both stores.
    const texts = [...corpus(LENGTHS[LENGTHS.length - 1], seed).messages()].map((m) => m.content);
    for (const length of LENGTHS) {
      const sessionId = `window-${length}`;
      const turns = texts.slice(0, length).map((content, i) => ({ userId: USER, sessionId, role: i % 2 === 0 ? 'human' : 'ai', content }));
      for (const batch of batches(turns, 500)) await store.storeMessages(batch);
      for (const turn of turns) await baseline.addMessage(sessionId, turn.role, turn.content);
      log(`window: session of ${length} stored in both`);
    }

    const measure = async (loadsPerLength) => {
      const result = {};
      for (const length of LENGTHS) {
        const sessionId = `window-${length}`;
        // Both must return the same 10 turns, oldest first.
        const ours = (await store.getMessages(USER, sessionId, { limit: 10 })).map((m) => m.content);
        const theirs = (await baseline.loadWindow(sessionId, 5)).map((m) => m.content);
        if (JSON.stringify(ours) !== JSON.stringify(theirs) || ours.length !== 10) throw new Error(`window ${length}: the two stores return different windows`);
        const n = length >= 10_000 ? Math.ceil(loadsPerLength / 4) : loadsPerLength;
        for (let w = 0; w < 10; w += 1) await Promise.all([store.getMessages(USER, sessionId, { limit: 10 }), baseline.loadWindow(sessionId, 5)]);
        const rounds = { ltst: [], langchain: [] };
        for (let r = 0; r < repeats; r += 1) {
          rounds.ltst.push(await latencies(Array.from({ length: n }), () => store.getMessages(USER, sessionId, { limit: 10 })));
          rounds.langchain.push(await latencies(Array.from({ length: n }), () => baseline.loadWindow(sessionId, 5)));
        }
        result[length] = { loads: n, ltst: latencySpread(rounds.ltst), langchain: latencySpread(rounds.langchain) };
        log(`window ${length}: LTST p50 ${result[length].ltst.p50.median} ms, LangChain p50 ${result[length].langchain.p50.median} ms`);
      }
      return result;
    };
    const analyze = () => Promise.all([baseline.pool.query(`ANALYZE "${BASELINE_SCHEMA}"."${CHAT_TABLE}"`), baseline.pool.query(`ANALYZE ${SCHEMA}.conversation_messages`)]);

    await analyze();
    const alone = await measure(loads);

    // The same sessions among OTHERS messages of 100 other sessions, as in a real n8n database.
    const others = [];
    for (let s = 0; s < OTHERS / 1_000; s += 1) {
      texts.slice(0, 1_000).forEach((content, i) => others.push({ userId: `other-${s}`, sessionId: `other-${s}`, role: i % 2 === 0 ? 'human' : 'ai', content }));
    }
    for (const batch of batches(others, 1_000)) await store.storeMessages(batch);
    // LangChain's rows copied in SQL (the same JSON as addMessage writes; 100,000 addMessage calls would take a minute).
    await baseline.pool.query(
      `INSERT INTO "${BASELINE_SCHEMA}"."${CHAT_TABLE}" (session_id, message)
       SELECT 'other-' || (g % 100), message FROM "${BASELINE_SCHEMA}"."${CHAT_TABLE}", generate_series(1, ${OTHERS / 1_000}) g WHERE session_id = 'window-1000'`,
    );
    await analyze();
    log(`window: ${OTHERS.toLocaleString('en')} messages of other sessions added to both`);
    const shared = await measure(Math.ceil(loads / 2));
    return { lengths: LENGTHS, window: 10, others: OTHERS, sessions: alone, sharedTable: shared };
  } finally {
    await baseline.close();
    await store.close();
    await dropSchema(url, SCHEMA);
    await dropSchema(url, BASELINE_SCHEMA);
  }
}

module.exports = { windowPhase };
