// The event ledger's lease on a PostgreSQL server: what a claim costs with and without expired
// leases to take back, and what completing with a claim token costs.
//
//   npm run build && node bench/event-lease.js [postgres://...]
//
// Default url: LTST_BENCH_DATABASE_URL, else LTST_TEST_DATABASE_URL. Works only in the schema
// ltst_bench_lease (dropped before and after). Prints p50 / p95 over repeated calls.
const pg = require('pg');
const { openMemory, closeAllMemory } = require('../dist/core/index.js');

const url = process.argv[2] || process.env.LTST_BENCH_DATABASE_URL || process.env.LTST_TEST_DATABASE_URL;
const schema = 'ltst_bench_lease';

async function percentiles(label, rounds, call) {
  const ms = [];
  for (let i = 0; i < rounds; i += 1) {
    const started = performance.now();
    await call();
    ms.push(performance.now() - started);
  }
  ms.sort((a, b) => a - b);
  const at = (q) => ms[Math.min(ms.length - 1, Math.floor(ms.length * q))].toFixed(1);
  console.log(`${label}: p50 ${at(0.5)} ms, p95 ${at(0.95)} ms (${rounds} calls)`);
}

async function main() {
  if (!url) throw new Error('Pass a postgres:// URL or set LTST_TEST_DATABASE_URL.');
  const client = new pg.Client(url);
  await client.connect();
  const store = openMemory({ connectionString: url, schema, embeddings: { provider: 'none' } });
  try {
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await store.migrate();
    await client.query(`INSERT INTO ${schema}.event_ledger (event_type, priority) SELECT 'job', i % 5 FROM generate_series(1, 10000) i`);
    await percentiles('claim 50 of 10,000 pending events, no lease expired', 40, () => store.claimEvents({ limit: 50 }));
    const held = await store.claimEvents({ limit: 50 });
    await percentiles('complete one event with its claim token', 50, () => store.completeEvent(held.pop()));
    // 2,000 events whose worker died: their leases ran out 5 minutes ago, so each claim takes 50 back first.
    await client.query(
      `UPDATE ${schema}.event_ledger SET status = 'processing', claim_token = gen_random_uuid(), claimed_at = now() - interval '10 minutes',
              lease_expires_at = now() - interval '5 minutes'
        WHERE event_id IN (SELECT event_id FROM ${schema}.event_ledger WHERE status <> 'done' LIMIT 2000)`,
    );
    await percentiles('claim 50 with 2,000 expired leases waiting', 40, () => store.claimEvents({ limit: 50 }));
  } finally {
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await client.end();
    await closeAllMemory();
  }
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
