// Full retrieveContext (recent window, hybrid recall, preferences, context, prompt) on the loaded
// scale store, without the cache and answered from it.
const { log, corpus, latencies, latencySpread } = require('./shared');

const QUERIES = 200;

async function retrievePhase({ store, scale, repeats, seed }) {
  // The same users as the loaded store (same seed and scale); preferences and context for one in five.
  const data = corpus(scale, seed);
  for (let u = 0; u < data.users.length; u += 5) {
    const user = data.users[u];
    for (let k = 0; k < 3; k += 1) await store.upsertPreference({ userId: user.userId, key: `likes_${k}`, value: `topic ${user.topics[k]}`, type: 'interest', source: 'explicit' });
    for (const session of user.sessions) await store.setContext({ userId: user.userId, sessionId: session.sessionId, type: 'task', key: 'goal', value: `plan topic ${session.focus}`, relevance: 0.8 });
  }
  const requests = data.queries(QUERIES).map((q) => ({ ...q, recentLimit: 10, topK: 8 }));
  const cold = [];
  const cached = [];
  for (let r = 0; r < repeats; r += 1) {
    const coldMs = await latencies(requests, (q) => store.retrieveContext({ ...q, useCache: false }));
    for (const q of requests) await store.retrieveContext({ ...q, useCache: true }); // fills the cache
    const cachedMs = await latencies(requests, async (q) => {
      if (!(await store.retrieveContext({ ...q, useCache: true })).stats.cacheHit) throw new Error('expected a cache hit');
    });
    cold.push(coldMs);
    cached.push(cachedMs);
  }
  const result = { scale, requests: requests.length, request: { recentLimit: 10, topK: 8 }, cold: latencySpread(cold), cached: latencySpread(cached) };
  log(`retrieveContext at ${scale}: cold p50 ${result.cold.p50.median} ms, cached p50 ${result.cached.p50.median} ms`);
  return result;
}

module.exports = { retrievePhase };
