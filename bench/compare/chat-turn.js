// Chat turn: the memory work of one chat turn, as n8n users compare it: load what the model should
// see, then save the user's message and the reply. At session lengths 20, 200 and 2,000, in tables
// shared with other users' sessions (as n8n keeps every chat in one table).
//  - LTST: retrieveContext (recent window 10, top 8 hybrid recall, cache off as a chat should run it
//    and the chat-turn example does, query = the new human text), then storeMessages([human, ai]).
//  - n8n's Postgres Chat Memory: BufferWindowMemory (k 5) loadMemoryVariables, then saveContext
//    (addUserMessage + addAIMessage), through LangChain's classes.
// Every turn appends a new real turn, so the next turn's load sees it (write, then retrieve, every
// turn): the pattern in which LTST's cache hit rate is measured, by the same retrieval with the cache
// on (Retrieve Context's default) after each turn, untimed in the turn. The systems take each turn one after
// the other, alternating which goes first. LTST embeds with the bench's hashing embedder; the time it
// takes is reported beside the turn, not subtracted. The same turns also run on embedded PGlite
// databases in memory, with the same data: LTST's own, and n8n's served by @electric-sql/pglite-socket.
// Texts: LoCoMo turns (../shared/data/locomo, read at run time, cycled), or the synthetic corpus.
const fs = require('node:fs');
const { openMemory } = require('../../dist/core/index.js');
const { DATA_DIR, loadLocomo } = require('../locomo-data');
const { DIMENSIONS } = require('../synthetic');
const { percentile, round } = require('../common');
const { log, embedder, corpus, batches, freshStore, freshBaseline, latencySpread, sql, dropSchema } = require('./shared');
const { CHAT_TABLE } = require('../baseline-langchain');
const { openPgliteBaseline } = require('./pglite-baseline');

const SCHEMA = 'ltst_bench_cmp_chatturn';
const BASELINE_SCHEMA = 'ltst_bench_cmp_chatturn_lc';
const LENGTHS = [20, 200, 2_000];
// Other users' chats in the same tables: 50 sessions of 200 messages, one user each.
const BACKGROUND = { sessions: 50, messages: 200 };
const WARMUP = 5;
const TURNS = 60;
const WINDOW_K = 5; // n8n's default context window: 5 exchanges = 10 messages
const REQUEST = { recentLimit: 2 * WINDOW_K, topK: 8, useCache: false };

/** The texts, in order: LoCoMo's five conversations one after another, or the synthetic corpus. */
function textStream(seed) {
  if (fs.existsSync(DATA_DIR)) return { source: 'LoCoMo', texts: loadLocomo(DATA_DIR).flatMap((c) => c.messages.map((m) => m.content)) };
  return { source: 'synthetic', texts: [...corpus(3_000, seed).messages()].map((m) => m.content) };
}

/** The embedder with a stopwatch: how long a turn spends embedding, in retrieval and in storing. */
function stopwatchEmbedder(inner) {
  const watch = { ms: 0 };
  const timedCall = async (work) => {
    const started = performance.now();
    try {
      return await work();
    } finally {
      watch.ms += performance.now() - started;
    }
  };
  return { watch, embedder: { id: inner.id, dimensions: inner.dimensions, embed: (texts) => timedCall(() => inner.embed(texts)) } };
}

/** Who talks in each measured session, where its texts start in the stream, and its prefilled messages. */
function layout(texts) {
  const text = (i) => texts[i % texts.length];
  const background = Array.from({ length: BACKGROUND.sessions }, (_, s) =>
    Array.from({ length: BACKGROUND.messages }, (_, i) => ({ userId: `chat-other-${s}`, sessionId: `chat-other-${s}`, role: i % 2 === 0 ? 'human' : 'ai', content: text(s * BACKGROUND.messages + i) })),
  );
  // One user per length, so LTST's recall searches a memory as long as the session; starts apart in the stream.
  const sessions = LENGTHS.map((length, j) => {
    const start = 2 * j * 350;
    const ids = { userId: `chat-user-${length}`, sessionId: `chat-${length}` };
    const messages = Array.from({ length }, (_, i) => ({ ...ids, role: i % 2 === 0 ? 'human' : 'ai', content: text(start + i) }));
    let next = start + length;
    const nextTurn = () => {
      const turn = { human: text(next), ai: text(next + 1) };
      next += 2;
      return turn;
    };
    return { length, ...ids, messages, nextTurn };
  });
  return { background, sessions };
}

/** The systems under test, each with one turn: load, then save. */
function systems({ store, baseline, pglite, pgliteBaseline }) {
  const ltstTurn = (memory) => ({
    load: ({ userId, sessionId }, turn) => memory.retrieveContext({ userId, sessionId, query: turn.human, ...REQUEST }),
    save: ({ userId, sessionId }, turn) => memory.storeMessages([{ userId, sessionId, role: 'human', content: turn.human }, { userId, sessionId, role: 'ai', content: turn.ai }]),
  });
  const n8nTurn = (chatMemory) => ({
    load: ({ sessionId }) => chatMemory.loadWindow(sessionId, WINDOW_K),
    save: ({ sessionId }, turn) => chatMemory.saveTurn(sessionId, turn.human, turn.ai, WINDOW_K),
  });
  return {
    ltst: ltstTurn(store),
    n8n: n8nTurn(baseline),
    ...(pglite ? { pglite: ltstTurn(pglite) } : {}),
    ...(pgliteBaseline ? { n8nPglite: n8nTurn(pgliteBaseline) } : {}),
  };
}

const emptyRound = (names) => Object.fromEntries(names.map((name) => [name, { turn: [], load: [], save: [] }]));

async function fill(url, { store, baseline, pglite, pgliteBaseline }, { background, sessions }) {
  const all = [...background.flat(), ...sessions.flatMap((s) => s.messages)];
  for (const memory of [store, pglite].filter(Boolean)) for (const batch of batches(all, 1_000)) await memory.storeMessages(batch);
  // The baselines through LangChain's addMessage (its only write), each session in order, sessions side by side.
  for (const chatMemory of [baseline, pgliteBaseline].filter(Boolean)) {
    await Promise.all([...background, ...sessions.map((s) => s.messages)].map(async (messages) => {
      for (const m of messages) await chatMemory.addMessage(m.sessionId, m.role, m.content);
    }));
  }
  // Only the server's tables: PGlite has no autovacuum and neither system ANALYZEs it, so both
  // PGlite columns plan without statistics, as a fresh embedded database does.
  await sql(url, `ANALYZE "${BASELINE_SCHEMA}"."${CHAT_TABLE}"`);
  await sql(url, `ANALYZE ${SCHEMA}.conversation_messages`);
  await sql(url, `ANALYZE ${SCHEMA}.conversation_sessions`);
}

/** Every system must show the model the same last 10 messages before the first turn. */
async function checkSameWindow(memories, session) {
  const windows = [
    ...[memories.store, memories.pglite].filter(Boolean).map((m) => m.getMessages(session.userId, session.sessionId, { limit: REQUEST.recentLimit })),
    ...[memories.baseline, memories.pgliteBaseline].filter(Boolean).map((m) => m.loadWindow(session.sessionId, WINDOW_K)),
  ];
  const texts = (await Promise.all(windows)).map((messages) => JSON.stringify(messages.map((m) => m.content)));
  if (JSON.parse(texts[0]).length !== REQUEST.recentLimit || texts.some((t) => t !== texts[0])) throw new Error(`chat turn ${session.length}: the stores hold different windows`);
}

async function chatTurnPhase({ url, repeats, seed, withPglite = true }) {
  const { watch, embedder: timedEmbedder } = stopwatchEmbedder(embedder);
  const memories = {};
  try {
    memories.store = await freshStore(url, SCHEMA, timedEmbedder);
    memories.baseline = await freshBaseline(url, BASELINE_SCHEMA);
    if (withPglite) {
      memories.pglite = openMemory({ embedded: { dataDir: 'memory://ltst-bench-chatturn' }, dimensions: DIMENSIONS, embeddings: timedEmbedder });
      await memories.pglite.migrate();
      memories.pgliteBaseline = await openPgliteBaseline({ schema: BASELINE_SCHEMA, dimensions: DIMENSIONS });
      if (!memories.pgliteBaseline) {
        delete memories.pgliteBaseline;
        log('chat turn: @electric-sql/pglite-socket is not installed (npm install): no n8n column on PGlite');
      }
    }
    const { source, texts } = textStream(seed);
    const plan = layout(texts);
    const started = performance.now();
    await fill(url, memories, plan);
    const others = BACKGROUND.sessions * BACKGROUND.messages;
    log(`chat turn: ${others} ${source} messages of ${BACKGROUND.sessions} other users and sessions of ${LENGTHS.join(', ')} stored in ${Object.keys(memories).join(', ')} (${round((performance.now() - started) / 1000, 1)} s)`);

    const turnOf = systems(memories);
    const names = Object.keys(turnOf);
    const lengths = {};
    let step = 0;
    for (const session of plan.sessions) {
      await checkSameWindow(memories, session);
      const rounds = [];
      const ltst = { turns: 0, hits: 0, embeddingMs: [], cachedLoad: [], profile: { totalMs: 0, embeddingMs: 0, searchMs: 0, vector: 0, text: 0, termsSearched: 0 } };
      for (let r = 0; r <= repeats; r += 1) {
        // Round 0 warms up: its turns are stored, its times not kept.
        const times = emptyRound(names);
        for (let t = 0; t < (r === 0 ? WARMUP : TURNS); t += 1) {
          const turn = session.nextTurn();
          // Alternate who goes first within each pair (server, then PGlite).
          const order = step++ % 2 === 0 ? names : [...names.slice(0, 2).reverse(), ...names.slice(2).reverse()];
          for (const name of order) {
            const embeddedBefore = watch.ms;
            const t0 = performance.now();
            const bundle = await turnOf[name].load(session, turn);
            const t1 = performance.now();
            await turnOf[name].save(session, turn);
            const t2 = performance.now();
            times[name].load.push(t1 - t0);
            times[name].save.push(t2 - t1);
            times[name].turn.push(t2 - t0);
            if (name === 'ltst' && r > 0) {
              // What the cache brings in this pattern: the same query with it, after the turn (untimed in the turn).
              const u0 = performance.now();
              const cached = await memories.store.retrieveContext({ userId: session.userId, sessionId: session.sessionId, query: turn.human, ...REQUEST, useCache: true });
              ltst.cachedLoad.push(performance.now() - u0);
              const s = bundle.stats;
              ltst.turns += 1;
              ltst.hits += cached.stats.cacheHit ? 1 : 0;
              ltst.embeddingMs.push(watch.ms - embeddedBefore);
              for (const [key, value] of [['totalMs', s.totalMs], ['embeddingMs', s.embeddingMs], ['searchMs', s.searchMs], ['vector', s.candidates.vector], ['text', s.candidates.text], ['termsSearched', s.query.termsSearched]]) ltst.profile[key] += value;
            }
          }
        }
        if (r > 0) rounds.push(times);
      }
      const figures = Object.fromEntries(names.map((name) => [name, Object.fromEntries(['turn', 'load', 'save'].map((part) => [part, latencySpread(rounds.map((times) => times[name][part]))]))]));
      const mean = (key) => round(ltst.profile[key] / ltst.turns, key.endsWith('Ms') ? 2 : 1);
      const profile = { totalMs: mean('totalMs'), embeddingMs: mean('embeddingMs'), searchMs: mean('searchMs'), candidates: { vector: mean('vector'), text: mean('text') }, termsSearched: mean('termsSearched') };
      lengths[session.length] = {
        turnsPerRound: TURNS,
        ...figures,
        cacheHitRate: round(ltst.hits / ltst.turns, 3),
        embeddingMsPerTurn: { p50: round(percentile(ltst.embeddingMs, 50), 3), max: round(Math.max(...ltst.embeddingMs), 3) },
        profile,
        ltstLoadWithCache: { p50: round(percentile(ltst.cachedLoad, 50)), p95: round(percentile(ltst.cachedLoad, 95)) },
      };
      const ratio = figures.ltst.turn.p50.median / figures.n8n.turn.p50.median;
      log(`chat turn ${session.length}: turn p50 LTST ${figures.ltst.turn.p50.median} ms, n8n ${figures.n8n.turn.p50.median} ms (${ratio.toFixed(2)}x)${figures.pglite ? `; on PGlite LTST ${figures.pglite.turn.p50.median} ms` : ''}${figures.n8nPglite ? `, n8n ${figures.n8nPglite.turn.p50.median} ms` : ''}; cache hits ${ltst.hits}/${ltst.turns}`);
      log(`chat turn ${session.length}: retrieveContext profile, mean per turn: total ${profile.totalMs} ms = embedding ${profile.embeddingMs} + search ${profile.searchMs} + rest ${round(profile.totalMs - profile.embeddingMs - profile.searchMs)}; candidates ${profile.candidates.vector} vector / ${profile.candidates.text} text; ${profile.termsSearched} terms searched; with the cache p50 ${lengths[session.length].ltstLoadWithCache.p50} ms`);
    }
    return { source, lengths: LENGTHS, others, otherSessions: BACKGROUND.sessions, warmupTurns: WARMUP, request: REQUEST, windowK: WINDOW_K, pglite: Boolean(memories.pglite), pgliteBaseline: Boolean(memories.pgliteBaseline), sessions: lengths };
  } finally {
    for (const memory of Object.values(memories)) await memory.close();
    await dropSchema(url, SCHEMA);
    await dropSchema(url, BASELINE_SCHEMA);
  }
}

module.exports = { chatTurnPhase };
