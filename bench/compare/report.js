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
    `| batches with vectors (users below 20,000 messages, out of the HNSW graph) | ${fig(f.ltstBatchedWithVectors)} | ${fig(f.langchainAddVectors)} (PGVectorStore.addVectors, no index) | ${times(f.ltstBatchedWithVectors.median, f.langchainAddVectors.median)} | |`,
    `| importMessages with vectors (HNSW built after the load) | ${fig(f.ltstImportWithVectors)} | ${fig(f.langchainAddVectors)} (PGVectorStore.addVectors, no index) | ${times(f.ltstImportWithVectors.median, f.langchainAddVectors.median)} | |`,
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

function chatTurnTable({ chatTurn, parameters }) {
  if (!chatTurn) return '';
  const c = { ...chatTurn, repeats: parameters.repeats };
  const pair = (f) => `${ms(f.p50)} / ${ms(f.p95)}`;
  const rows = c.lengths.map((length) => {
    const f = c.sessions[length];
    const r50 = f.ltst.turn.p50.median / f.n8n.turn.p50.median;
    const r95 = f.ltst.turn.p95.median / f.n8n.turn.p95.median;
    const onPglite = f.n8nPglite ? ` ${pair(f.pglite.turn)} | ${pair(f.n8nPglite.turn)} (${(f.pglite.turn.p50.median / f.n8nPglite.turn.p50.median).toFixed(2)}) |` : ` ${pair(f.pglite.turn)} | |`;
    const pglite = c.pglite ? onPglite : '';
    return `| ${n(length)} | ${pair(f.ltst.turn)} | ${pair(f.n8n.turn)} | ${r50.toFixed(2)} / ${r95.toFixed(2)} |${pglite} ${(100 * f.cacheHitRate).toFixed(0)} % | p50 ${verdict(r50 <= 1)}, p95 ${verdict(r95 <= 1)} |`;
  });
  const parts = c.lengths.map((length) => {
    const f = c.sessions[length];
    const pglite = c.pglite ? ` ${pair(f.pglite.load)} | ${pair(f.pglite.save)} | ${f.n8nPglite ? `${pair(f.n8nPglite.load)} | ${pair(f.n8nPglite.save)}` : ' |'} |` : '';
    return `| ${n(length)} | ${pair(f.ltst.load)} | ${pair(f.ltst.save)} | ${pair(f.n8n.load)} | ${pair(f.n8n.save)} |${pglite}`;
  });
  const profile = c.lengths.map((length) => {
    const p = c.sessions[length].profile;
    return `${n(length)}: ${p.totalMs} ms = embedding ${p.embeddingMs} + search ${p.searchMs} + rest ${(p.totalMs - p.embeddingMs - p.searchMs).toFixed(2)}, ${p.candidates.vector} vector / ${p.candidates.text} text candidates, ${p.termsSearched} terms searched`;
  });
  const embedding = c.lengths.map((length) => `${n(length)}: ${c.sessions[length].embeddingMsPerTurn.p50} ms`).join(', ');
  return [
    `Chat turn: load what the model should see, then save the user's message and the reply, in sessions of ${c.lengths.map((l) => n(l)).join(', ')} messages (one user each) in tables shared with ${n(c.others)} ${c.source} messages of ${c.otherSessions} other users; every turn appends a new ${c.source} turn, so the next load sees it (a session grows by ${n(2 * (c.warmupTurns + c.sessions[c.lengths[0]].turnsPerRound * c.repeats))} messages over the phase); ${c.sessions[c.lengths[0]].turnsPerRound} turns per run after ${c.warmupTurns} warm-up turns. LTST: retrieveContext (recent window ${c.request.recentLimit}, top ${c.request.topK} hybrid recall, the query the new human message, cache off as a chat should run it) then storeMessages of the two messages; n8n's Postgres Chat Memory: BufferWindowMemory (k ${c.windowK}) loadMemoryVariables then saveContext. p50 / p95 in ms:`,
    '',
    `| session length | LTST Memory | n8n Postgres Chat Memory | LTST / n8n (p50 / p95) |${c.pglite ? ' LTST on embedded PGlite | n8n on PGlite, over pglite-socket (LTST / n8n, p50) |' : ''} LTST cache hits (cache on) | goal: no slower |`,
    `| --- | --- | --- | --- |${c.pglite ? ' --- | --- |' : ''} --- | --- |`,
    ...rows,
    '',
    'Each part of the turn, p50 / p95 in ms:',
    '',
    `| session length | LTST load (retrieveContext) | LTST save (storeMessages) | n8n load (loadMemoryVariables) | n8n save (saveContext) |${c.pglite ? ' PGlite: LTST load | LTST save | n8n load | n8n save |' : ''}`,
    `| --- | --- | --- | --- | --- |${c.pglite ? ' --- | --- | --- | --- |' : ''}`,
    ...parts,
    '',
    `Where retrieveContext's time goes (bundle.stats, mean per turn; the rest is schema info and opening the transaction; the commit comes after totalMs), by session length: ${profile.join('; ')}. The same retrieveContext with the cache on (Retrieve Context's default: a lookup first, the bundle written after), run after each turn with its query, p50 / p95: ${c.lengths.map((length) => `${n(length)}: ${c.sessions[length].ltstLoadWithCache.p50} / ${c.sessions[length].ltstLoadWithCache.p95} ms`).join(', ')}. Embedding (the bench's hashing embedder, query and the two stored messages) per turn, p50: ${embedding}; it is included in LTST's figures, not subtracted.`,
  ].join('\n');
}

function embeddingsLine({ embeddings: e }) {
  if (!e) return '';
  return `Local embedder (${e.embedder}): ${fig(e.batchedPerSecond)} sentences/s in calls of 512, ${fig(e.oneByOnePerSecond)} one per call (${e.sentenceWords}-word sentences); first call with the model load ${n(e.firstCallMs)} ms.`;
}

function markdown(result) {
  const v = result.versions;
  const head = `${result.date.slice(0, 10)}, \`${result.command}\`, ${result.machine.cpus} cores, node ${result.machine.node}, PostgreSQL ${v.postgres} with pgvector ${v.pgvector} on the same machine (shared_buffers ${v.settings.shared_buffers}), @langchain/community ${v.community}, @langchain/classic ${v.classic}; median [min-max] of ${result.parameters.repeats} runs.`;
  return [head, ingestTable(result), windowTable(result), scaleTable(result), retrieveTable(result), longQueryTable(result), rowSecurityTable(result), chatTurnTable(result), embeddingsLine(result)].filter(Boolean).join('\n\n');
}

module.exports = { markdown };
