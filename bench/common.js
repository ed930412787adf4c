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

module.exports = { dropSchema, machine };
