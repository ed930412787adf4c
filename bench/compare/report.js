// The markdown tables of a compare run: medians, with [min-max] over the runs.
const n = (x, digits = 0) => x.toLocaleString('en', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const fig = (s, digits = 0) => `${n(s.median, digits)} [${n(s.min, digits)}-${n(s.max, digits)}]`;
const ms = (s) => fig(s, 2);
const times = (a, b) => `${(a / b).toFixed(1)}x`;
const verdict = (ok) => (ok ? 'met' : '**not met**');

function ingestTable({ ingest }) {
  if (!ingest) return '';
  const f = ingest.messagesPerSecond;
  const lc = f.langchainAddMessage.median;
  return [
    `Ingest, ${n(ingest.messages)} messages, messages per second:`,
    '',
    '| way of storing | LTST Memory | LangChain | LTST / LangChain | goal: 5x |',
    '| --- | --- | --- | --- | --- |',
    `| one message per call | ${fig(f.ltstOneByOne)} | ${fig(f.langchainAddMessage)} (addMessage) | ${times(f.ltstOneByOne.median, lc)} | ${verdict(f.ltstOneByOne.median >= 5 * lc)} |`,
    `| batches of ${ingest.batch} (an n8n item batch) | ${fig(f.ltstBatched)} | ${fig(f.langchainAddMessage)} (no batch API) | ${times(f.ltstBatched.median, lc)} | ${verdict(f.ltstBatched.median >= 5 * lc)} |`,
    `| batches with vectors (HNSW kept up to date) | ${fig(f.ltstBatchedWithVectors)} | ${fig(f.langchainAddVectors)} (PGVectorStore.addVectors, no index) | ${times(f.ltstBatchedWithVectors.median, f.langchainAddVectors.median)} | |`,
    `| batches, embedded PGlite | ${fig(f.ltstBatchedPglite)} | | | |`,
  ].join('\n');
}

function windowTable({ window }) {
  if (!window) return '';
  const rows = window.lengths.map((length) => {
    const alone = window.sessions[length];
    const shared = window.sharedTable[length];
    const faster = (s) => s.langchain.p50.median / s.ltst.p50.median;
    const goal = length === 1_000 ? `alone ${verdict(faster(alone) >= 10)}; shared ${verdict(faster(shared) >= 10)}` : '';
    return `| ${n(length)} | ${ms(alone.ltst.p50)} / ${ms(alone.ltst.p95)} | ${ms(alone.langchain.p50)} / ${ms(alone.langchain.p95)} | ${faster(alone).toFixed(1)}x | ${ms(shared.ltst.p50)} / ${ms(shared.langchain.p50)} | ${faster(shared).toFixed(1)}x | ${goal} |`;
  });
  return [
    `Window load, the last 10 messages of one session, p50 / p95 in ms; the sessions alone in their tables, then in tables shared with ${n(window.others)} messages of other sessions (as n8n keeps every chat in one table):`,
    '',
    '| session length | LTST getMessages | LangChain BufferWindowMemory (k 5) | faster by (p50) | shared table, p50: LTST / LangChain | faster by | goal: 10x at 1,000 |',
    '| --- | --- | --- | --- | --- | --- | --- |',
    ...rows,
  ].join('\n');
}

function scaleTable({ scales }) {
  if (!scales || scales.length === 0) return '';
  const rows = scales.map((s) => {
    const fast = s.ltst.latency.p50.median <= s.langchain.noIndex.latency.p50.median;
    return `| ${n(s.scale)} (${n(s.users)} users) | ${ms(s.ltst.latency.p50)} / ${ms(s.ltst.latency.p95)}, recall ${s.ltst.recallAt10.toFixed(3)} | ${ms(s.langchain.noIndex.latency.p50)} / ${ms(s.langchain.noIndex.latency.p95)}, recall ${s.langchain.noIndex.recallAt10.toFixed(3)} | ${ms(s.langchain.hnsw.latency.p50)} / ${ms(s.langchain.hnsw.latency.p95)}, recall ${s.langchain.hnsw.recallAt10.toFixed(3)} | ${verdict(fast && s.ltst.recallAt10 >= 0.95)} |`;
  });
  const costs = scales.map((s) => `| ${n(s.scale)} | ${n(s.ingest.ltstPerSecond)} / ${n(s.ingest.langchainAddVectorsPerSecond)} | ${n(s.ltst.hnswBuildMs / 1000, 1)} s / ${n(s.langchain.hnsw.buildMs / 1000, 1)} s | ${n(s.ltst.bytesPerMessage)} / ${n(s.langchain.bytesPerMessage)} | ${n(s.peakRssMb)} MB |`);
  return [
    "Semantic top 10 for one user, p50 / p95 in ms and recall@10 against exact search. LTST: retrieveContext with the user filter and hybrid scoring (recall of its vector search); LangChain: similaritySearchVectorWithScore with n8n's metadata filter on the user:",
    '',
    '| messages | LTST Memory | PGVectorStore as n8n creates it (exact scan) | PGVectorStore, typed column and HNSW index | goal: no slower than n8n\'s PGVectorStore, recall >= 0.95 |',
    '| --- | --- | --- | --- | --- |',
    ...rows,
    '',
    'Cost of each scale, LTST / LangChain:',
    '',
    '| messages | ingest with vectors, messages/s | HNSW index build | bytes per message (table and indexes) | peak RSS of the bench process |',
    '| --- | --- | --- | --- | --- |',
    ...costs,
  ].join('\n');
}

function retrieveTable({ retrieveContext: r }) {
  if (!r) return '';
  return [
    `Full retrieveContext at ${n(r.scale)} messages (recent window ${r.request.recentLimit}, top ${r.request.topK} hybrid, preferences, context, prompt), p50 / p95 in ms:`,
    '',
    '| without the cache | from the cache |',
    '| --- | --- |',
    `| ${ms(r.cold.p50)} / ${ms(r.cold.p95)} | ${ms(r.cached.p50)} / ${ms(r.cached.p95)} |`,
  ].join('\n');
}

function longQueryTable({ longQuery: q }) {
  if (!q) return '';
  const rows = q.sizes.map((s) => `| ${n(s.words)} | ${n(s.characters)}${s.truncated ? ' (cut)' : ''} | ${s.termsSearched} of ${n(s.distinctTerms)} | ${ms(s.p50)} / ${ms(s.p95)} |`);
  return [
    `Long queries: retrieveContext (top 8, hybrid) over one user with ${n(q.messages)} ${q.source} messages, ${q.queriesPerSize} queries of each size, p50 / p95 in ms:`,
    '',
    '| distinct words | characters | terms searched | retrieveContext |',
    '| --- | --- | --- | --- |',
    ...rows,
    '',
    `Largest / smallest: ${q.ratio.p50}x at p50, ${q.ratio.p95}x at p95 (goal: within 3x, ${verdict(q.ratio.p50 <= 3)}).`,
  ].join('\n');
}

function rowSecurityTable({ rowSecurity: r }) {
  if (!r) return '';
  const row = (name, f) => `| ${name} | ${ms(f.forced.p50)} / ${ms(f.forced.p95)} | ${ms(f.unforced.p50)} / ${ms(f.unforced.p95)} | ${f.ratio.p50.toFixed(3)} / ${f.ratio.p95.toFixed(3)} | ${verdict(f.ratio.p50 < 1.1)} |`;
  return [
    `Row-level security: store a turn, then retrieveContext with it (recent window 10, top 8, hybrid), ${r.users} ${r.source} users interleaved among ${n(r.others)} other messages, ${r.turnsPerUserPerRound} turns per user per run; p50 / p95 in ms with the policies holding role "${r.role}" (FORCE) and not (NO FORCE):`,
    '',
    '| operation | policies hold | policies off | ratio p50 / p95 | goal: under 10 % |',
    '| --- | --- | --- | --- | --- |',
    row('storeMessages', r.storeMessages),
    row('retrieveContext', r.retrieveContext),
    '',
    `The driver's scope switch (one set_config, only when a pooled connection last served another scope) takes ${r.scopeSwitchMs} ms at p50, in both columns.`,
  ].join('\n');
}

function embeddingsLine({ embeddings: e }) {
  if (!e) return '';
  return `Local embedder (${e.embedder}): ${fig(e.batchedPerSecond)} sentences/s in calls of 512, ${fig(e.oneByOnePerSecond)} one per call (${e.sentenceWords}-word sentences); first call with the model load ${n(e.firstCallMs)} ms.`;
}

function markdown(result) {
  const v = result.versions;
  const head = `${result.date.slice(0, 10)}, \`${result.command}\`, ${result.machine.cpus} cores, node ${result.machine.node}, PostgreSQL ${v.postgres} with pgvector ${v.pgvector} on the same machine (shared_buffers ${v.settings.shared_buffers}), @langchain/community ${v.community}, @langchain/classic ${v.classic}; median [min-max] of ${result.parameters.repeats} runs.`;
  return [head, ingestTable(result), windowTable(result), scaleTable(result), retrieveTable(result), longQueryTable(result), rowSecurityTable(result), embeddingsLine(result)].filter(Boolean).join('\n\n');
}

module.exports = { markdown };
