import { setLocalStatements, type Queryable } from '../db/database';
import { VectorParam } from '../db/vectors';
import { instrument, sha256, type MemoryContext } from '../memory/context';
import type { ContextEntry } from '../memory/context-entries';
import type { StoredMessage } from '../memory/messages';
import { recordPreferenceUse, type Preference } from '../memory/preferences';
import type { RelatedSession } from '../memory/relationships';
import { schemaInfo } from '../memory/schema-info';
import { cleanText } from '../memory/validation';
import type { Session } from '../memory/sessions';
import { readBundleParts } from './bundle-parts';
import { lookUp, storeBundle } from './cache';
import { documentChunks, type DocumentChunk } from './documents';
import { foundMessages } from './found-messages';
import { renderPrompt } from './prompt';
import { normalizeRequest, type NormalizedRequest, type RetrieveContextRequest } from './request';
import { blendScore, bm25, bm25Idf, reciprocalRankFusion, recencyDecay } from './scoring';
import { boundQuery, timeoutError } from './bounds';
import { textCandidates, vectorCandidates, vectorSearchSettings, type Candidate, type TextSearch } from './search';

export interface RelevantMessage extends StoredMessage {
  /** Final score in [0, 1]. */
  score: number;
  /** The parts of it: cosine similarity, BM25, their rank fusion, recency and stored relevance. */
  scores: { vector: number | null; text: number | null; fused: number; recency: number; relevance: number };
  /** The turns around it in its session, oldest first, when `neighbors` was asked for. */
  neighbors?: StoredMessage[];
}

export interface ContextBundle {
  query: string | null;
  session: Session | null;
  /** Short-term memory: the newest messages of the session, oldest first. */
  recentMessages: StoredMessage[];
  /** Long-term memory: the user's (or session's) best matches outside the recent window, best first. */
  relevantMessages: RelevantMessage[];
  context: ContextEntry[];
  preferences: Preference[];
  relatedSessions: RelatedSession[];
  documents: DocumentChunk[];
  prompt: string;
  stats: {
    totalMs: number;
    embeddingMs: number;
    searchMs: number;
    cacheHit: boolean;
    tokensUsed: number;
    candidates: { vector: number; text: number };
    generation: number;
    /** The query's bounds: cut to MAX_QUERY_CHARS (`truncated`, with its length before), its distinct stemmed terms and how many were searched (at most MAX_QUERY_TERMS). */
    query: { characters: number; truncated: boolean; terms: number; termsSearched: number };
  };
}

const DAY_MS = 86_400_000;

/**
 * Up to this many messages a user's retrieval keeps one generic plan per prepared statement: left to
 * choose, PostgreSQL planned the text candidates again on every call (0.28 ms; LoCoMo's questions,
 * users of about 550 messages: 3.9 to 3.5 ms p50; sessions of 2,000: no slower). A larger user plans
 * each statement for itself: with the generic plans a 25,000-message user took 33 instead of 26 ms.
 */
const GENERIC_PLAN_MAX_MESSAGES = 2_000;
const NO_TEXT_SEARCH: TextSearch = { candidates: [], statistics: { documents: 0, averageLength: 0, documentFrequency: new Map() }, terms: { distinct: 0, searched: 0 } };

async function latestHumanMessage(db: Queryable, ctx: MemoryContext, userId: string, sessionId: string): Promise<string | null> {
  const { rows } = await db.query<{ content: string }>(
    `SELECT content FROM ${ctx.schema}.conversation_messages WHERE session_id = $1 AND user_id = $2 AND role = 'human' ORDER BY message_index DESC LIMIT 1`,
    [sessionId, userId],
  );
  return rows[0]?.content ?? null;
}

/** When the first of these entries expires (null: none expires). */
function earliestExpiry(entries: ContextEntry[]): Date | null {
  const times = entries.flatMap((entry) => (entry.expiresAt ? [new Date(entry.expiresAt).getTime()] : []));
  return times.length > 0 ? new Date(Math.min(...times)) : null;
}

/** A ranked candidate: its id, final score and the parts of it. */
type Ranked = { messageId: number; score: number; scores: RelevantMessage['scores'] };

/** Fuses the two candidate lists and blends in recency and stored relevance; the topK best first. */
function rank(request: NormalizedRequest, vector: Candidate[], text: TextSearch, now: Date): Ranked[] {
  const { statistics } = text;
  const idf = new Map([...statistics.documentFrequency].map(([term, df]) => [term, bm25Idf(statistics.documents, df)]));
  const byId = new Map<string, { row: Candidate['row']; vector: number | null; text: number | null }>();
  for (const c of vector) byId.set(c.row.message_id, { row: c.row, vector: c.similarity ?? null, text: null });
  for (const c of text.candidates) {
    const score = bm25(c.termFrequencies ?? new Map(), idf, c.length ?? 0, statistics.averageLength);
    const found = byId.get(c.row.message_id);
    if (found) found.text = score;
    else byId.set(c.row.message_id, { row: c.row, vector: null, text: score });
  }
  const ranked = (key: 'vector' | 'text') =>
    [...byId.entries()].filter(([, c]) => c[key] !== null).sort((a, b) => (b[1][key] as number) - (a[1][key] as number)).map(([id]) => id);
  const fused = reciprocalRankFusion([
    { ids: ranked('vector'), weight: request.fusionWeights.vector },
    { ids: ranked('text'), weight: request.fusionWeights.text },
  ]);
  const halfLife = request.recencyHalfLifeDays * DAY_MS;
  return [...byId.entries()]
    .map(([id, c]) => {
      const parts = { fused: fused.get(id) ?? 0, recency: recencyDecay(now.getTime() - new Date(c.row.timestamp).getTime(), halfLife), relevance: Number(c.row.relevance_score) };
      return { messageId: Number(id), score: blendScore(parts), scores: { vector: c.vector, text: c.text, ...parts } };
    })
    .filter((m) => m.score >= request.minRelevance)
    .sort((a, b) => b.score - a.score || b.messageId - a.messageId)
    .slice(0, request.topK);
}

/** The ranked messages as stored, with their neighbours when asked for; one deleted since it was ranked is left out. */
async function relevantMessages(tx: Queryable, ctx: MemoryContext, request: NormalizedRequest, ranked: Ranked[]): Promise<RelevantMessage[]> {
  const found = await foundMessages(tx, ctx, request.userId, ranked.map((r) => r.messageId), request.neighbors);
  return ranked.flatMap(({ messageId, score, scores }) => {
    const stored = found.get(messageId);
    if (!stored) return [];
    return [{ ...stored.message, score, scores, ...(request.neighbors > 0 ? { neighbors: stored.neighbors } : {}) }];
  });
}

async function search(ctx: MemoryContext, request: NormalizedRequest, requestKey: string, started: number): Promise<ContextBundle> {
  const now = ctx.options.clock();
  const info = await schemaInfo(ctx);
  // The query and its embedding come before the transaction: an embedding API call must not hold a connection.
  const fullQuery = request.query ?? (request.sessionId ? await ctx.run((db) => latestHumanMessage(db, ctx, request.userId, request.sessionId as string)) : null);
  const bounded = fullQuery === null ? null : boundQuery(fullQuery);
  const query = bounded?.text ?? null;
  const embedder = info.hasEmbedding ? await ctx.embedder() : undefined;
  const embeddingStarted = performance.now();
  const queryVector = embedder && query ? await (embedder.embedQuery ? embedder.embedQuery(query) : embedder.embed([query]).then((vectors) => vectors[0])) : undefined;
  const embedding = queryVector ? new VectorParam(Float32Array.from(queryVector)) : undefined;
  const embeddingMs = performance.now() - embeddingStarted;

  const pool = Math.max(50, request.topK * 5);
  // Sent with BEGIN. The transaction writes only the cache entry and preference use counts, which a
  // crash may lose: it need not wait for its commit to reach the disk. Its prepared statements keep
  // one plan (see GENERIC_PLAN_MAX_MESSAGES).
  const settings = { statement_timeout: request.timeoutMs, synchronous_commit: 'off', plan_cache_mode: 'force_generic_plan' };
  try {
    return await ctx.transaction(async (tx) => {
      const searchStarted = performance.now();
      const { generation, messageCount, inVectorGraph, session, recent, preferences, context, relatedSessions, queryStatistics } = await readBundleParts(tx, ctx, request, now, query);
      const exclude = recent.map((m) => m.messageId);
      const exact = !inVectorGraph;
      // Searched exactly meanwhile; the admission inserts every vector of the user into the graph (seconds).
      if (exact && embedding && messageCount > ctx.options.vectorGraphMinMessages) ctx.vectorGraph.admit(request.userId);
      // A large user plans each statement for itself, and an HNSW search (a user in the vector graph)
      // has settings: a round trip more, and one more to set sorting on again for the statements
      // after the search (without, they took 200 ms more).
      const vectorSettings = embedding ? vectorSearchSettings(pool, exact) : {};
      const local = setLocalStatements({ ...(messageCount > GENERIC_PLAN_MAX_MESSAGES ? { plan_cache_mode: 'force_custom_plan' } : {}), ...vectorSettings });
      if (local.length > 0) await tx.exec(local.join('; '));
      const vector = embedding ? await vectorCandidates(tx, ctx, info.vectorSchema, request, embedding, exclude, pool, exact) : [];
      if ('enable_sort' in vectorSettings) await tx.exec(setLocalStatements({ enable_sort: 'on' }).join('; '));
      const text = query ? await textCandidates(tx, ctx, request, query, exclude, 4 * pool, queryStatistics) : NO_TEXT_SEARCH;
      const relevant = await relevantMessages(tx, ctx, request, rank(request, vector, text, now));
      const documents = request.documents ? await documentChunks(tx, info.vectorSchema, request.documents, request.userId, embedding, request.topDocuments) : [];

      const { prompt, tokens } = renderPrompt({ preferences, context, relevant, recent }, request.tokenBudget);
      const searchMs = performance.now() - searchStarted;

      // Dates become ISO strings here, exactly as a cache hit returns them.
      const bundle: ContextBundle = JSON.parse(
        JSON.stringify({
          query,
          session,
          recentMessages: recent,
          relevantMessages: relevant,
          context,
          preferences,
          relatedSessions,
          documents,
          prompt,
          stats: {
            totalMs: performance.now() - started,
            embeddingMs,
            searchMs,
            cacheHit: false,
            tokensUsed: tokens,
            candidates: { vector: vector.length, text: text.candidates.length },
            generation,
            query: { characters: fullQuery?.length ?? 0, truncated: bounded?.truncated ?? false, terms: text.terms.distinct, termsSearched: text.terms.searched },
          },
        }),
      );
      if (request.useCache && query) {
        await storeBundle(tx, ctx, {
          requestKey,
          generation,
          userId: request.userId,
          sessionId: session ? session.sessionId : null,
          query,
          bundle,
          scores: Object.fromEntries(relevant.map((m) => [m.messageId, m.score])),
          retrievalTimeMs: bundle.stats.totalMs,
          now,
          expiresBy: earliestExpiry(context),
        });
      }
      // After the cache write, which locks the user's generation row: deleteUserData locks that row
      // before the preferences, so taking the two in the same order never deadlocks with it.
      await recordPreferenceUse(tx, ctx, request.userId, preferences.map((p) => p.key), now);
      return bundle;
    }, settings);
  } catch (error) {
    // PostgreSQL cancels a statement past the timeout with 57014: a typed error that says what to do.
    throw timeoutError(error, request.timeoutMs);
  }
}

export function retrievalOperations(ctx: MemoryContext) {
  return {
    /** The memory bundle an LLM prompt needs: recent window, relevant past turns, context, preferences, related sessions and a rendered prompt. */
    async retrieveContext(input: RetrieveContextRequest): Promise<ContextBundle> {
      const request = normalizeRequest(input, ctx.documents);
      // Query text follows the rule of all stored text (it is cached as JSON): NUL refused, lone surrogates U+FFFD.
      if (request.query !== null) request.query = cleanText('query', request.query);
      const started = performance.now();
      const { useCache, ...rest } = request;
      // The timeout changes how long a search may take, not what it finds (JSON drops undefined).
      const keyed = { ...rest, timeoutMs: undefined };
      const requestKey = sha256(JSON.stringify({ ...keyed, embedder: (await ctx.embedder())?.id ?? 'none' }));
      return instrument(
        ctx,
        'retrieve_context',
        { userId: request.userId, sessionId: request.sessionId ?? undefined, parameters: keyed },
        async () => {
          // Without the cache a retrieval is one transaction: the user's generation is read in it.
          const hit = useCache ? ((await ctx.run((db) => lookUp(db, ctx, requestKey, request.userId, ctx.options.clock()))) as ContextBundle | undefined) : undefined;
          const bundle = hit ? { ...hit, stats: { ...hit.stats, cacheHit: true, embeddingMs: 0, searchMs: 0, totalMs: performance.now() - started } } : await search(ctx, request, requestKey, started);
          // What was recalled gains relevance, also when it came from the cache: written in the background.
          ctx.relevance.record(bundle.relevantMessages.map((m) => ({ messageId: m.messageId, score: m.score })));
          return bundle;
        },
        (bundle) => bundle.relevantMessages.length,
        (bundle) => bundle.stats.cacheHit,
      );
    },
  };
}
