// Row-level security overhead: the chat pattern (store a turn, then retrieveContext with it as the
// query) with the policies holding the store's role (FORCE ROW LEVEL SECURITY, migration 0006) vs
// not holding it (NO FORCE: the role owns the tables, so the policies then skip it), on identical
// data in two schemas: the five LoCoMo conversations (../shared/data/locomo, read at run time) as
// five users among OTHERS messages of 100 synthetic users. Each conversation is stored up to its
// last repeats x TURNS turns; each round then plays TURNS further turns per user, users interleaved
// (as a busy n8n serves them), and both schemas take each step one after the other, alternating
// which goes first. The driver's scope switch (one set_config when a pooled connection last served
// another user) happens in both modes; its round trip is measured on its own. Goal: under 10 %.
const fs = require('node:fs');
const { Client } = require('pg');
const { DATA_DIR, loadLocomo } = require('../locomo-data');
const { percentile, round } = require('../common');
const { log, embedder, corpus, batches, freshStore, latencySpread, sql, dropSchema } = require('./shared');

const SCHEMAS = { forced: 'ltst_bench_cmp_rls_forced', unforced: 'ltst_bench_cmp_rls_unforced' };
const TABLES = ['conversation_sessions', 'conversation_messages', 'conversation_context', 'user_preferences', 'memory_retrieval_cache', 'session_relationships', 'memory_performance_metrics', 'ltst_user_state'];
const TURNS = 40;
const OTHERS = 10_000;

/** The conversations as users (the synthetic corpus when LoCoMo is absent). */
function conversations(seed) {
  if (fs.existsSync(DATA_DIR)) return { source: 'LoCoMo', users: loadLocomo(DATA_DIR).map((c) => c.messages.map(({ metadata, ...m }) => m)) };
  const byUser = new Map();
  for (const m of corpus(2_500, seed).messages()) byUser.set(m.userId, [...(byUser.get(m.userId) ?? []), m]);
  return { source: 'synthetic', users: [...byUser.values()].slice(0, 5) };
}

/** One round trip of the scope switch the driver sends, on a plain connection: p50 in ms. */
async function scopeSwitchMs(url) {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    const ms = [];
    for (let i = 0; i < 500; i += 1) {
      const started = performance.now();
      await client.query(`SELECT set_config('ltst.scope', $1, false), set_config('ltst.user_ids', $2::text[]::text, false)`, ['users', [`user-${i % 5}`]]);
      ms.push(performance.now() - started);
    }
    return round(percentile(ms, 50), 3);
  } finally {
    await client.end();
  }
}

async function rowSecurityPhase({ url, repeats, seed }) {
  const { source, users } = conversations(seed);
  const held = repeats * TURNS;
  if (users.some((turns) => turns.length <= held)) throw new Error(`every conversation needs more than ${held} turns`);
  const stores = {};
  try {
    const others = [...corpus(OTHERS, seed).messages()];
    for (const [mode, schema] of Object.entries(SCHEMAS)) {
      const store = (stores[mode] = await freshStore(url, schema, embedder));
      for (const batch of batches(others, 1_000)) await store.storeMessages(batch);
      for (const turns of users) for (const batch of batches(turns.slice(0, turns.length - held), 500)) await store.storeMessages(batch);
      await sql(url, `ANALYZE ${schema}.conversation_messages`);
    }
    for (const table of TABLES) await sql(url, `ALTER TABLE ${SCHEMAS.unforced}.${table} NO FORCE ROW LEVEL SECURITY`);
    const status = { forced: (await stores.forced.health()).rowLevelSecurity, unforced: (await stores.unforced.health()).rowLevelSecurity };
    if (!status.forced.enforced || status.unforced.enforced) throw new Error(`row-level security should hold only in the forced schema: ${JSON.stringify(status)}`);
    log(`row-level security: ${users.length} ${source} users (${users.reduce((n, t) => n + t.length - held, 0)} turns) among ${OTHERS} messages in each schema; role "${status.forced.role}"`);

    const rounds = { forced: { store: [], retrieve: [] }, unforced: { store: [], retrieve: [] } };
    let step = 0;
    for (let r = 0; r <= repeats; r += 1) {
      // Round 0 warms both up (its turns are stored, its times not kept).
      const turnsOf = (turns) => turns.slice(turns.length - held + Math.max(0, r - 1) * TURNS, turns.length - held + Math.max(0, r - 1) * TURNS + (r === 0 ? 5 : TURNS));
      const played = users.map(turnsOf);
      const times = { forced: { store: [], retrieve: [] }, unforced: { store: [], retrieve: [] } };
      for (let t = 0; t < Math.max(...played.map((p) => p.length)); t += 1) {
        for (const turns of played) {
          const turn = turns[t];
          if (!turn) continue;
          const order = step++ % 2 === 0 ? ['forced', 'unforced'] : ['unforced', 'forced'];
          for (const mode of order) {
            let started = performance.now();
            await stores[mode].storeMessages([turn]);
            times[mode].store.push(performance.now() - started);
            started = performance.now();
            await stores[mode].retrieveContext({ userId: turn.userId, sessionId: turn.sessionId, query: turn.content, topK: 8, recentLimit: 10 });
            times[mode].retrieve.push(performance.now() - started);
          }
        }
      }
      if (r === 0) continue;
      for (const mode of Object.keys(rounds)) for (const op of ['store', 'retrieve']) rounds[mode][op].push(times[mode][op]);
      log(`row-level security, round ${r}: retrieveContext p50 forced ${round(percentile(times.forced.retrieve, 50))} ms, not forced ${round(percentile(times.unforced.retrieve, 50))} ms`);
    }
    const figures = {};
    for (const op of ['store', 'retrieve']) {
      const forced = latencySpread(rounds.forced[op]);
      const unforced = latencySpread(rounds.unforced[op]);
      figures[op === 'store' ? 'storeMessages' : 'retrieveContext'] = {
        forced,
        unforced,
        ratio: { p50: round(forced.p50.median / unforced.p50.median, 3), p95: round(forced.p95.median / unforced.p95.median, 3) },
      };
    }
    return { source, users: users.length, others: OTHERS, turnsPerUserPerRound: TURNS, role: status.forced.role, scopeSwitchMs: await scopeSwitchMs(url), ...figures };
  } finally {
    for (const store of Object.values(stores)) await store.close();
    for (const schema of Object.values(SCHEMAS)) await dropSchema(url, schema);
  }
}

module.exports = { rowSecurityPhase };
