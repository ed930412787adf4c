// Ingest rate of storeMessages on the embedded PGlite and, with LTST_BENCH_DATABASE_URL, on a
// PostgreSQL server: 10,000 messages in calls of 500, and 1,600 one per call from 8 concurrent writers.
// Run with `npm run bench` (builds first). The full benchmark suite arrives with issue 6.
const { openMemory, closeAllMemory } = require('../dist/core/index.js');

const SCHEMA = 'ltst_bench_ingest';

async function rate(count, work) {
  const started = performance.now();
  await work();
  return Math.round(count / ((performance.now() - started) / 1000));
}

async function measure(name, config) {
  const store = openMemory({ ...config, schema: SCHEMA });
  await store.migrate();
  const batched = await rate(10_000, async () => {
    for (let b = 0; b < 20; b += 1) {
      await store.storeMessages(Array.from({ length: 500 }, (_, i) => ({ userId: 'u', sessionId: 'batched', role: 'human', content: `message ${b}-${i} about tea, travel and work` })));
    }
  });
  const single = await rate(1_600, () =>
    Promise.all(Array.from({ length: 8 }, async (_, w) => {
      for (let i = 0; i < 200; i += 1) await store.storeMessage({ userId: 'u', sessionId: 'single', role: 'ai', content: `writer ${w} message ${i}` });
    })),
  );
  console.log(`| ${name} | ${batched.toLocaleString('en')} | ${single.toLocaleString('en')} |`);
}

(async () => {
  console.log(`storeMessages ingest, messages per second (${new Date().toISOString().slice(0, 10)}, node ${process.version})\n`);
  console.log('| database | batched, 500 per call | one per call, 8 concurrent writers |\n| --- | --- | --- |');
  await measure('PGlite (embedded, in memory)', { embedded: {} });
  const url = process.env.LTST_BENCH_DATABASE_URL;
  if (url) {
    await measure('PostgreSQL server', { connectionString: url });
    // The benchmark's own schema goes again; nothing else is touched.
    const { Client } = require('pg');
    const client = new Client({ connectionString: url });
    await client.connect();
    await client.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`);
    await client.end();
  }
  await closeAllMemory();
})().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
