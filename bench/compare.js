// `npm run bench`: LTST Memory side by side with what n8n users run today (LangChain's
// PostgresChatMessageHistory with a window, as n8n's Postgres Chat Memory, and PGVectorStore, as
// n8n's PGVector Store), in one process, on the same PostgreSQL with pgvector, with the same data
// and the same precomputed vectors. Every figure is taken over repeated runs (min / median / max).
//
//   node bench/compare.js [--url postgres://...] [--repeats 3] [--ingest 10000]
//                         [--scales 10000,100000] [--seed 42] [--skip-embeddings] [--only-scales] [--name compare]
//                         [--only ingest,window,scales,long-query,row-security,chat-turn,embeddings]
//
// --only runs the phases named (scales includes the full retrieveContext at the largest scale up to
// 100,000) and writes bench/results/compare-<phases>.json unless --name is given (`--only long-query`
// takes about a minute, `--only row-security` about two, `--only chat-turn` three to four); --only-scales runs the scales alone and writes compare.json unless --name.
// Default url: LTST_BENCH_DATABASE_URL, else LTST_TEST_DATABASE_URL. It works only in schemas named
// ltst_bench_cmp_* (dropped before and after). Writes bench/results/<name>.json and prints a
// markdown table (the one in the README).
const fs = require('node:fs');
const path = require('node:path');
const { closeAllMemory } = require('../dist/core/index.js');
const { machine } = require('./common');
const { log, sql, closeSql, dropSchema } = require('./compare/shared');
const { ingestPhase } = require('./compare/ingest');
const { windowPhase } = require('./compare/window');
const { scalePhase, SCHEMAS } = require('./compare/scale');
const { retrievePhase } = require('./compare/retrieve');
const { embeddingsPhase } = require('./compare/embeddings');
const { longQueryPhase } = require('./compare/long-query');
const { rowSecurityPhase } = require('./compare/row-security');
const { chatTurnPhase } = require('./compare/chat-turn');
const { markdown } = require('./compare/report');
const { langchainVersions } = require('./baseline-langchain');

const PHASES = ['ingest', 'window', 'scales', 'long-query', 'row-security', 'chat-turn', 'embeddings'];

function parseArgs(argv) {
  const args = { url: process.env.LTST_BENCH_DATABASE_URL || process.env.LTST_TEST_DATABASE_URL, repeats: 3, ingest: 10_000, scales: [10_000, 100_000], seed: 42, embeddings: true, onlyScales: false, only: null, name: undefined };
  const whole = (flag, value) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1) throw new Error(`${flag} must be a whole number >= 1, got ${value}`);
    return n;
  };
  for (let i = 0; i < argv.length; i += 1) {
    const [flag, inline] = argv[i].split(/=(.*)/s);
    const value = () => (inline !== undefined ? inline : argv[++i]);
    if (flag === '--url') args.url = value();
    else if (flag === '--repeats') args.repeats = whole(flag, value());
    else if (flag === '--ingest') args.ingest = whole(flag, value());
    else if (flag === '--scales') args.scales = value().split(',').map((s) => whole(flag, s.replace(/_/g, '')));
    else if (flag === '--seed') args.seed = whole(flag, value());
    else if (flag === '--skip-embeddings') args.embeddings = false;
    else if (flag === '--only-scales') args.onlyScales = true; // for a long run at 1,000,000 messages
    else if (flag === '--only') args.only = value().split(',').map((phase) => phase.trim());
    else if (flag === '--name') args.name = value().replace(/[^a-z0-9_-]/gi, '-');
    else throw new Error(`unknown argument ${argv[i]} (see the top of bench/compare.js)`);
  }
  const unknown = (args.only ?? []).filter((phase) => !PHASES.includes(phase));
  if (unknown.length > 0) throw new Error(`--only: unknown phase ${unknown.join(', ')} (phases: ${PHASES.join(', ')})`);
  // A run of chosen phases must not overwrite the full run's figures.
  args.name ??= args.only ? `compare-${args.only.join('-')}` : 'compare';
  if (args.onlyScales) args.only = ['scales'];
  if (!args.embeddings) args.only = (args.only ?? PHASES).filter((phase) => phase !== 'embeddings');
  if (!args.url) throw new Error('needs a PostgreSQL server with pgvector: set LTST_BENCH_DATABASE_URL or pass --url postgres://user:pw@host:5432/db');
  return args;
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const started = performance.now();
  const [server] = await sql(args.url, `SELECT current_setting('server_version') AS postgres, (SELECT extversion FROM pg_extension WHERE extname = 'vector') AS pgvector, current_setting('shared_buffers') AS shared_buffers, current_setting('maintenance_work_mem') AS maintenance_work_mem`);
  if (!server.pgvector) throw new Error('the database has no pgvector extension: CREATE EXTENSION vector first');
  log(`PostgreSQL ${server.postgres}, pgvector ${server.pgvector}; ${args.repeats} runs of each figure`);

  const result = {
    benchmark: 'LTST Memory vs n8n Postgres Chat Memory and PGVector Store (LangChain)',
    date: new Date().toISOString(),
    command: `node bench/compare.js ${process.argv.slice(2).join(' ')}`.trim(),
    machine: machine(),
    versions: { ltst: require('../package.json').version, ...langchainVersions(), postgres: server.postgres, pgvector: server.pgvector, settings: { shared_buffers: server.shared_buffers, maintenance_work_mem: server.maintenance_work_mem } },
    parameters: { repeats: args.repeats, seed: args.seed, embeddings: 'bench hashing embedder, 384-d, vectors computed before timing' },
  };
  const runs = (phase) => !args.only || args.only.includes(phase);
  if (runs('ingest')) result.ingest = await ingestPhase({ url: args.url, count: args.ingest, repeats: args.repeats, seed: args.seed });
  if (runs('window')) result.window = await windowPhase({ url: args.url, repeats: args.repeats, seed: args.seed });
  result.scales = [];
  const fullAt = Math.max(...args.scales.filter((s) => s <= 100_000), Math.min(...args.scales));
  try {
    for (const scale of runs('scales') ? args.scales : []) {
      const { result: figures, store } = await scalePhase({ url: args.url, scale, repeats: args.repeats, seed: args.seed, keep: scale === fullAt });
      result.scales.push(figures);
      if (scale === fullAt) {
        result.retrieveContext = await retrievePhase({ store, scale, repeats: args.repeats, seed: args.seed });
        await store.close();
      }
    }
  } finally {
    await closeAllMemory();
    for (const schema of SCHEMAS) await dropSchema(args.url, schema);
  }
  if (runs('long-query')) result.longQuery = await longQueryPhase({ url: args.url, repeats: args.repeats, seed: args.seed });
  if (runs('row-security')) result.rowSecurity = await rowSecurityPhase({ url: args.url, repeats: args.repeats, seed: args.seed });
  if (runs('chat-turn')) result.chatTurn = await chatTurnPhase({ url: args.url, repeats: args.repeats, seed: args.seed });
  if (runs('embeddings')) result.embeddings = await embeddingsPhase({ repeats: args.repeats });
  result.peakRssMb = Math.round(process.resourceUsage().maxRSS / 1024);
  result.runSeconds = Math.round((performance.now() - started) / 1000);

  const file = path.join(__dirname, 'results', `${args.name}.json`);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  console.log(markdown(result));
  console.log(`\nRun took ${result.runSeconds} s; every figure in ${path.relative(process.cwd(), file)}`);
  await closeAllMemory();
  await closeSql();
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
