// Throughput of the local embedding provider: sentences per second, 512 per call and one per call.
const { createEmbedder } = require('../../dist/core/index.js');
const { spread } = require('../common');
const { log, timed } = require('./shared');

async function embeddingsPhase({ repeats }) {
  const embedder = createEmbedder({ provider: 'local' }, 384);
  const texts = Array.from({ length: 512 }, (_, i) => `User ${i} said they prefer morning meetings, dark roast coffee and trains to planes`);
  const loadMs = await timed(() => embedder.embed([texts[0]]));
  const batched = [];
  const single = [];
  for (let r = 0; r < repeats; r += 1) {
    batched.push(texts.length / ((await timed(() => embedder.embed(texts))) / 1000));
    single.push(100 / ((await timed(async () => {
      for (const text of texts.slice(0, 100)) await embedder.embed([text]);
    })) / 1000));
  }
  log(`local embedder: ${Math.round(batched[0])} sentences/s batched`);
  return { embedder: embedder.id, firstCallMs: Math.round(loadMs), sentenceWords: 16, batchedPerSecond: spread(batched), oneByOnePerSecond: spread(single) };
}

module.exports = { embeddingsPhase };
