// Retrieval-only LoCoMo evaluation of retrieveContext (no LLM), on the built bundle.
//   node bench/eval-locomo.js [--provider local|none|all] [--url postgres://...] [--only conv-26,conv-30] [--details]
// Default: embedded PGlite in memory, provider all (none, then local). Reads every conv-*.json in
// ../shared/data/locomo (relative to the repository root) at run time; see its README for the
// protocol. Each conversation is one user (locomo-<name>), each LoCoMo session one memory session
// (locomo-<name>:session_N, since session ids are global), each turn one message
// "speaker: text [image: caption]" timed at the session's date plus one second per turn; speaker_a is stored as role human, speaker_b as ai. For every question of
// category 1-4 with evidence, the question is the query (scope user, topK 10) and the turns
// returned are scored: recall_any@5, recall_any@10 (one evidence turn among the top k) and
// recall_all@10 (every evidence turn in the top 10). Writes bench/results/locomo-<provider>.json
// and prints a markdown table.
const fs = require('node:fs');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const core = require('../dist/core/index.js');
const { DATA_DIR, CATEGORIES, loadLocomo, scoreQuestion, summarise } = require('./locomo-data.js');
const { dropSchema, machine } = require('./common');

const SCHEMA = 'ltst_eval_locomo';
const DIMENSIONS = 384;
const TOP_K = 10;
const BATCH = 500;
const PROVIDERS = ['none', 'local'];

function parseArgs(argv) {
  const args = { provider: 'all', url: undefined, only: undefined, details: false };
  for (let i = 0; i < argv.length; i += 1) {
    const [flag, inline] = argv[i].split(/=(.*)/s);
    const value = () => (inline !== undefined ? inline : argv[++i]);
    if (flag === '--provider') args.provider = value();
    else if (flag === '--url') args.url = value();
    else if (flag === '--only') args.only = String(value()).split(',').map((s) => s.trim().replace(/\.json$/, '')).filter(Boolean);
    else if (flag === '--details') args.details = true;
    else if (flag === '--help' || flag === '-h') {
      console.log('usage: node bench/eval-locomo.js [--provider local|none|all] [--url postgres://...] [--only conv-26,...] [--details]');
      process.exit(0);
    } else throw new Error(`Unknown argument ${argv[i]} (try --help)`);
  }
  if (![...PROVIDERS, 'all'].includes(args.provider)) throw new Error(`--provider must be local, none or all, got ${args.provider}`);
  if (args.url !== undefined && !/^postgres(ql)?:\/\//.test(String(args.url))) throw new Error('--url must be a postgres:// connection string');
  return args;
}

async function makeEmbedder(provider) {
  if (provider === 'none') return undefined;
  if (typeof core.createEmbedder !== 'function') {
    throw new Error('createEmbedder is not exported by dist/core/index.js: run `npm run build` with the embeddings change in place, or use --provider none.');
  }
  const embedder = await core.createEmbedder({ provider }, DIMENSIONS);
  if (!embedder) throw new Error(`createEmbedder({ provider: '${provider}' }) returned no embedder`);
  return embedder;
}

function machineWithCommit() {
  let commit = null;
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: path.resolve(__dirname, '..'), encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    // not a git checkout
  }
  return { ...machine(), commit };
}

/** The evidence turn ids of one retrieved message: its metadata.diaId, else the id it was stored under. */
function diaIdOf(message, byMessageId) {
  const fromMetadata = message?.metadata?.diaId;
  if (typeof fromMetadata === 'string') return fromMetadata;
  return byMessageId.get(String(message?.messageId)) ?? null;
}

async function evaluate(provider, conversations, args) {
  const embedder = await makeEmbedder(provider);
  const database = args.url ? { connectionString: args.url } : { embedded: { dataDir: `memory://locomo-${provider}` } };
  if (args.url) await dropSchema(args.url, SCHEMA);
  const store = core.openMemory({ ...database, schema: SCHEMA, dimensions: DIMENSIONS, embeddings: embedder ?? { provider: 'none' } });
  try {
    if (typeof store.retrieveContext !== 'function') {
      throw new Error('store.retrieveContext is not available in dist/core/index.js: run `npm run build` once the retrieval change is in place.');
    }
    let started = performance.now();
    const migration = await store.migrate();
    const migrateMs = performance.now() - started;

    // Ingest: every conversation in batches of at most 500 messages.
    const byMessageId = new Map();
    const ingestByFile = {};
    started = performance.now();
    for (const conversation of conversations) {
      const t0 = performance.now();
      for (let i = 0; i < conversation.messages.length; i += BATCH) {
        const batch = conversation.messages.slice(i, i + BATCH);
        const stored = await store.storeMessages(batch);
        stored.forEach((message, j) => byMessageId.set(String(message.messageId), batch[j].metadata.diaId));
      }
      ingestByFile[conversation.file] = Math.round(performance.now() - t0);
    }
    const ingestMs = performance.now() - started;
    const turns = conversations.reduce((n, c) => n + c.messages.length, 0);
    process.stderr.write(`[${provider}] stored ${turns} turns in ${(ingestMs / 1000).toFixed(1)} s\n`);

    // Retrieval, one question at a time (latency is per call).
    const rows = [];
    let unmapped = 0;
    let shortLists = 0;
    started = performance.now();
    for (const conversation of conversations) {
      for (const q of conversation.questions) {
        const t0 = performance.now();
        const bundle = await store.retrieveContext({
          userId: conversation.userId,
          query: q.question,
          scope: 'user',
          topK: TOP_K,
          recentLimit: 0,
          includePreferences: false,
          includeContext: false,
          includeRelatedSessions: false,
          useCache: false,
        });
        const ms = performance.now() - t0;
        if (!bundle || !Array.isArray(bundle.relevantMessages)) throw new Error('retrieveContext returned no relevantMessages array');
        const retrieved = bundle.relevantMessages.slice(0, TOP_K).map((m) => {
          const id = diaIdOf(m, byMessageId);
          if (id === null) unmapped += 1;
          return id;
        });
        if (retrieved.length < TOP_K) shortLists += 1;
        const embeddingMs = typeof bundle.stats?.embeddingMs === 'number' ? bundle.stats.embeddingMs : null;
        rows.push({ file: q.file, index: q.index, category: q.category, evidence: q.evidence, retrieved, ms, embeddingMs, totalMs: typeof bundle.stats?.totalMs === 'number' ? bundle.stats.totalMs : null, ...scoreQuestion(q.evidence, retrieved) });
      }
    }
    const retrieveMs = performance.now() - started;

    const perCategory = {};
    for (const category of CATEGORIES) perCategory[category] = summarise(rows.filter((r) => r.category === category));
    const perFile = {};
    for (const conversation of conversations) perFile[conversation.file] = summarise(rows.filter((r) => r.file === conversation.file));
    return {
      provider,
      embedder: embedder ? { id: embedder.id ?? null, dimensions: embedder.dimensions ?? null } : null,
      database: args.url ? 'postgresql server' : 'pglite in memory',
      semanticSearch: migration?.semanticSearch ?? null,
      migrateMs: Math.round(migrateMs),
      ingest: { turns, ms: Math.round(ingestMs), turnsPerSecond: Math.round(turns / (ingestMs / 1000)), byFile: ingestByFile },
      retrieval: { questions: rows.length, ms: Math.round(retrieveMs), unmappedResults: unmapped, listsShorterThanTopK: shortLists },
      overall: summarise(rows),
      perCategory,
      perFile,
      questions: args.details
        ? rows.map((r) => ({ file: r.file, qa: r.index, category: r.category, evidence: r.evidence, retrieved: r.retrieved, firstHitRank: r.firstHitRank, ms: Number(r.ms.toFixed(1)), embeddingMs: r.embeddingMs }))
        : undefined,
    };
  } finally {
    await store.close();
    if (args.url) await dropSchema(args.url, SCHEMA).catch(() => {});
  }
}

const fmt = (v, digits = 3) => (v === null || v === undefined ? '-' : v.toFixed(digits));

function table(result) {
  const lines = [
    `LoCoMo retrieval, provider ${result.provider}${result.embedder?.id ? ` (${result.embedder.id})` : ''}, ${result.database}, ` +
      `ingest ${result.ingest.turns} turns in ${(result.ingest.ms / 1000).toFixed(1)} s (${result.ingest.turnsPerSecond}/s)\n`,
    '| questions | count | recall_any@5 | recall_any@10 | recall_all@10 | p50 ms | p95 ms | embed p50 ms | embed p95 ms |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  const row = (label, s) =>
    `| ${label} | ${s.count} | ${fmt(s.recallAny5)} | ${fmt(s.recallAny10)} | ${fmt(s.recallAll10)} | ${fmt(s.latencyMs.p50, 1)} | ${fmt(s.latencyMs.p95, 1)} | ${fmt(s.embeddingMs?.p50, 1)} | ${fmt(s.embeddingMs?.p95, 1)} |`;
  lines.push(row('overall', result.overall));
  for (const category of CATEGORIES) lines.push(row(`cat ${category}`, result.perCategory[category]));
  return lines.join('\n');
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const conversations = loadLocomo(DATA_DIR, { only: args.only });
  const dataset = {
    dir: '../shared/data/locomo',
    files: conversations.map((c) => ({ file: c.file, userId: c.userId, ...c.counts })),
    turns: conversations.reduce((n, c) => n + c.counts.turns, 0),
    questionsScored: conversations.reduce((n, c) => n + c.counts.scored, 0),
    roles: 'speaker_a human, speaker_b ai',
    evidence: 'split on ; , and whitespace; D:11:26 read as D11:26; non-ids and ids absent from the conversation dropped; questions left without evidence skipped',
  };
  const providers = args.provider === 'all' ? PROVIDERS : [args.provider];
  const resultsDir = path.join(__dirname, 'results');
  for (const provider of providers) {
    const result = await evaluate(provider, conversations, args);
    const report = {
      benchmark: 'locomo-retrieval',
      date: new Date().toISOString(),
      machine: machineWithCommit(),
      protocol: { scope: 'user', topK: TOP_K, recentLimit: 0, useCache: false, categories: CATEGORIES, schema: SCHEMA },
      dataset,
      ...result,
    };
    fs.mkdirSync(resultsDir, { recursive: true });
    const file = path.join(resultsDir, `locomo-${provider}.json`);
    fs.writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
    console.log(`${table(result)}\n\n(${path.relative(process.cwd(), file)})\n`);
  }
}

main()
  .catch((error) => {
    console.error(error instanceof Error ? error.message : error);
    if (process.env.DEBUG) console.error(error);
    process.exitCode = 1;
  })
  .finally(() => core.closeAllMemory().catch(() => {}));
