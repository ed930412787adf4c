// Throughput of the local embedder (Universal Sentence Encoder lite, projected to 384-d): model
// load, sentences per second batched (64 per call) and one per call. Run with `npm run bench`.
const { createEmbedder } = require('../dist/core/index.js');

(async () => {
  const embedder = createEmbedder({ provider: 'local' }, 384);
  const texts = Array.from({ length: 512 }, (_, i) => `User ${i} said they prefer morning meetings, dark roast coffee and trains to planes`);
  let started = performance.now();
  await embedder.embed([texts[0]]);
  const loadMs = performance.now() - started;
  started = performance.now();
  await embedder.embed(texts);
  const batched = Math.round(texts.length / ((performance.now() - started) / 1000));
  started = performance.now();
  for (const text of texts.slice(0, 100)) await embedder.embed([text]);
  const single = Math.round(100 / ((performance.now() - started) / 1000));
  console.log(`\nLocal embedder ${embedder.id}: first call (model load) ${Math.round(loadMs)} ms; ${batched} sentences/s batched; ${single} sentences/s one per call (16-word sentences)`);
})().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
