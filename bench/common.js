// Helpers shared by the benchmark scripts.
const os = require('node:os');

/** Drops a benchmark's own schema on a server (the benchmarks touch nothing else). */
async function dropSchema(url, schema) {
  const { Client } = require('pg');
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  } finally {
    await client.end();
  }
}

/** The machine a result was measured on. */
function machine() {
  const cpus = os.cpus();
  return { os: `${os.type()} ${os.release()} ${os.arch()}`, cpus: cpus.length, cpuModel: cpus[0]?.model ?? null, memoryGb: Number((os.totalmem() / 2 ** 30).toFixed(1)), node: process.version };
}

/** The p-th percentile (nearest rank) of `values`. */
function percentile(values, p) {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

const round = (x, digits = 2) => (x === null || x === undefined ? null : Number(x.toFixed(digits)));
const summary = (values) => ({ p50: round(percentile(values, 50)), p95: round(percentile(values, 95)), p99: round(percentile(values, 99)), max: round(Math.max(...values)), mean: round(values.reduce((a, b) => a + b, 0) / values.length), count: values.length });

/** One figure over repeated runs: its minimum, median and maximum, and every run's value. */
const spread = (runs) => ({ min: round(Math.min(...runs)), median: round(percentile(runs, 50)), max: round(Math.max(...runs)), runs: runs.map((x) => round(x)) });

module.exports = { dropSchema, machine, percentile, round, summary, spread };
