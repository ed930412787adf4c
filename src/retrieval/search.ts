import { binder, type Bind, type Queryable, type TransactionSettings } from '../db/database';
import type { VectorParam } from '../db/vectors';
import type { MemoryContext } from '../memory/context';
import { MAX_QUERY_TERMS, pickQueryTerms, type QueryTerm } from './bounds';
import { bm25Idf } from './scoring';
import type { NormalizedRequest } from './request';

/** A candidate message with the evidence each retriever found for it: only what ranking needs (its row is read once ranked). */
export interface Candidate {
  row: CandidateRow;
  /** Cosine similarity to the query embedding, when the vector search found it. */
  similarity?: number;
  /** Term frequencies of the query terms in the message, when the text search found it. */
  termFrequencies?: Map<string, number>;
  length?: number;
}

/** Statistics of the searched messages that BM25 needs: count, average length, document frequency per term. */
export interface TermStatistics {
  documents: number;
  averageLength: number;
  documentFrequency: Map<string, number>;
}

/** What the text search found, with the statistics BM25 needs and how many query terms it searched. */
export interface TextSearch {
  candidates: Candidate[];
  statistics: TermStatistics;
  /** Distinct stemmed terms of the query, and how many of them were searched (at most MAX_QUERY_TERMS). */
  terms: { distinct: number; searched: number };
}

/** What ranking reads of a candidate. */
export interface CandidateRow {
  message_id: string;
  timestamp: Date;
  relevance_score: number;
}

const COLUMNS = 'm.message_id::text, m."timestamp", m.relevance_score';

/**
 * Most matches of a whole-user search that are pre-ranked: a term most messages have must not cost
 * work per message. Chosen first by the weight of the query terms they hold, from the term index
 * alone. On LoCoMo 400 costs one question of 760 against pre-ranking every match.
 */
export const PRE_RANK_LIMIT = 400;

/**
 * The WHERE clause shared by both retrievers: always the user (isolation), then scope, time,
 * roles, message types, and the recent window left out. Values are appended to `values`.
 */
function filters(request: NormalizedRequest, exclude: number[], values: unknown[]): string {
  const add = binder(values);
  const where = [`m.user_id = ${add(request.userId)}`];
  if (request.scope === 'session') where.push(`m.session_id = ${add(request.sessionId)}`);
  if (request.from) where.push(`m."timestamp" >= ${add(request.from)}::timestamptz`);
  if (request.to) where.push(`m."timestamp" <= ${add(request.to)}::timestamptz`);
  if (request.roles) where.push(`m.role = ANY(${add(request.roles)}::text[])`);
  if (request.messageTypes) where.push(`m.message_type = ANY(${add(request.messageTypes)}::text[])`);
  if (exclude.length > 0) where.push(`m.message_id <> ALL(${add(exclude)}::bigint[])`);
  return where.join(' AND ');
}

/**
 * The transaction settings an HNSW search of `limit` nearest messages needs (none for an exact
 * search). With sorting off the graph is the one plan that gives the
 * order: costing the user's share of the rows, the planner chose an exact sort of a 25,000-message
 * user's vectors (89 ms p50 in bench/retrieval.js) over the graph the user was admitted to (2 ms).
 */
export const vectorSearchSettings = (limit: number, exact: boolean): TransactionSettings =>
  exact ? {} : { 'hnsw.ef_search': Math.max(40, limit * 2), 'hnsw.iterative_scan': 'relaxed_order', enable_sort: 'off' };

/**
 * Nearest messages by cosine distance: exactly (the user's index and a sort: a few milliseconds up to
 * tens of thousands of messages, and exact), or for a user in the vector graph (src/memory/vector-graph.ts)
 * through the HNSW index, which holds only those users' messages, with iterative scan (pgvector 0.8+,
 * in the transaction's vectorSearchSettings): it keeps searching the graph until enough rows pass
 * the user filter; relaxed order is re-sorted here.
 */
export async function vectorCandidates(tx: Queryable, ctx: MemoryContext, vectorSchema: string, request: NormalizedRequest, embedding: VectorParam, exclude: number[], limit: number, exact: boolean): Promise<Candidate[]> {
  const values: unknown[] = [embedding];
  const where = filters(request, exclude, values);
  const distance = `m.embedding OPERATOR(${vectorSchema}.<=>) $1::${vectorSchema}.vector`;
  const { rows } = await tx.query<CandidateRow & { distance: number }>(
    `SELECT ${COLUMNS}, ${distance} AS distance
       FROM ${ctx.schema}.conversation_messages m
      WHERE ${where} AND m.embedding IS NOT NULL${exact ? '' : ' AND m.in_vector_graph'}
      -- "+ 0" makes the order an expression the HNSW index cannot serve: exact search.
      ORDER BY ${exact ? `(${distance}) + 0` : distance}
      LIMIT ${limit}`,
    values,
    { prepare: true },
  );
  return rows.sort((a, b) => a.distance - b.distance).map((row) => ({ row, similarity: 1 - Number(row.distance) }));
}

/**
 * Whether a search covers all of the user's messages (no session scope, time, role or type filter):
 * then the user's term index (ltst_message_terms, migration 0007) and statistics can serve it.
 */
const searchesWholeUser = (request: NormalizedRequest) => request.scope === 'user' && !request.from && !request.to && !request.roles && !request.messageTypes;

/**
 * The index counts each query term's documents in its own range: for a question that is a few
 * ranges, for a pasted text of hundreds of words more than one pass over the user's messages.
 */
const fewWords = (query: string) => new Set(query.toLowerCase().match(/[\p{L}\p{N}]+/gu)).size <= 2 * MAX_QUERY_TERMS;

const QUERY_TERMS = `SELECT lexeme AS term, coalesce(array_length(positions, 1), 1) AS tf FROM unnest(to_tsvector('english', $1))`;

type StatisticsRow = { n: number; avg_length: number; terms: [string, number, number][] };

/** The query's distinct stemmed terms with their frequencies, and the statistics BM25 needs. */
export interface QueryStatistics {
  terms: QueryTerm[];
  documents: number;
  averageLength: number;
}

/** Whether a search takes its statistics over all of the user's messages, from the state row and the term index. */
export const takesWholeUserStatistics = (request: NormalizedRequest, query: string) => searchesWholeUser(request) && fewWords(query);

/**
 * What such a search reads besides u.message_count (`user` is the bound user id): the user's total
 * of terms kept by the message triggers, and each query term's document frequency counted in the
 * term index (an index range per term, whatever the user's size). Read with the bundle's parts.
 */
export const wholeUserStatisticsColumns = (ctx: MemoryContext, bind: Bind, user: string, query: string) =>
  `u.term_total,
   (SELECT coalesce(jsonb_agg(jsonb_build_array(t.lexeme, coalesce(array_length(t.positions, 1), 1),
             (SELECT count(*) FROM ${ctx.schema}.ltst_message_terms x WHERE x.user_id = ${user} AND x.term = t.lexeme))), '[]')
      FROM unnest(to_tsvector('english', ${bind(query)})) t) AS query_terms`;

export type WholeUserStatisticsRow = { message_count: string | null; term_total: string | null; query_terms: [string, number, number][] };

function toQueryStatistics({ n, avg_length, terms }: StatisticsRow): QueryStatistics {
  return {
    terms: terms.map(([term, queryFrequency, documentFrequency]) => ({ term, queryFrequency: Number(queryFrequency), documentFrequency: Number(documentFrequency) })),
    documents: Number(n),
    averageLength: Number(avg_length),
  };
}

export function wholeUserStatistics(row: WholeUserStatisticsRow): QueryStatistics {
  const n = Number(row.message_count ?? 0);
  return toQueryStatistics({ n, avg_length: n > 0 ? Number(row.term_total) / n : 0, terms: row.query_terms });
}

async function readWholeUserStatistics(tx: Queryable, ctx: MemoryContext, request: NormalizedRequest, query: string): Promise<QueryStatistics> {
  const values: unknown[] = [];
  const bind = binder(values);
  const user = bind(request.userId);
  const { rows } = await tx.query<WholeUserStatisticsRow>(
    `SELECT u.message_count, ${wholeUserStatisticsColumns(ctx, bind, user, query)} FROM (SELECT 1) one LEFT JOIN ${ctx.schema}.ltst_user_state u ON u.user_id = ${user}`,
    values,
  );
  return wholeUserStatistics(rows[0]);
}

/** Over the messages the filters leave: one pass over them, whatever the number of terms. */
async function filteredStatistics(tx: Queryable, ctx: MemoryContext, request: NormalizedRequest, query: string, exclude: number[]): Promise<StatisticsRow> {
  const values: unknown[] = [query];
  const where = filters(request, exclude, values);
  // Their lexemes are hash-joined to the query's (one count per term took 387 s for 1,000 terms over 5,000 messages).
  const { rows } = await tx.query<StatisticsRow>(
    `WITH terms AS (${QUERY_TERMS}), scoped AS (
       SELECT m.content_tsv FROM ${ctx.schema}.conversation_messages m WHERE ${where}
     ), df AS (
       SELECT lexeme AS term, count(*)::int AS df
         FROM scoped s CROSS JOIN LATERAL unnest(tsvector_to_array(s.content_tsv)) lexeme
        WHERE lexeme IN (SELECT term FROM terms) GROUP BY lexeme
     )
     SELECT (SELECT count(*) FROM scoped)::int AS n,
            (SELECT coalesce(avg(length(content_tsv)), 0) FROM scoped)::float8 AS avg_length,
            (SELECT coalesce(jsonb_agg(jsonb_build_array(t.term, t.tf, coalesce(df.df, 0))), '[]') FROM terms t LEFT JOIN df USING (term)) AS terms`,
    values,
  );
  return rows[0];
}

/**
 * The query's statistics: a search of the whole user takes them over all of the user's messages (the
 * recent window included), a filtered one over the messages it searches.
 */
async function termStatistics(tx: Queryable, ctx: MemoryContext, request: NormalizedRequest, query: string, exclude: number[]): Promise<QueryStatistics> {
  return takesWholeUserStatistics(request, query) ? readWholeUserStatistics(tx, ctx, request, query) : toQueryStatistics(await filteredStatistics(tx, ctx, request, query, exclude));
}

/**
 * Messages sharing any of the query's most informative stemmed terms (at most MAX_QUERY_TERMS, OR
 * of the terms, so a question's words need not all appear), pre-ranked by how often they have them,
 * with the term frequencies and corpus statistics for BM25, which weighs rare terms higher.
 */
export async function textCandidates(tx: Queryable, ctx: MemoryContext, request: NormalizedRequest, query: string, exclude: number[], limit: number, known?: QueryStatistics): Promise<TextSearch> {
  const { terms, documents, averageLength } = known ?? (await termStatistics(tx, ctx, request, query, exclude));
  const searched = pickQueryTerms(terms, documents);
  const statistics = { documents, averageLength, documentFrequency: new Map(searched.map((t) => [t.term, t.documentFrequency])) };
  const result = { statistics, terms: { distinct: terms.length, searched: searched.length } };
  if (searched.length === 0) return { candidates: [], ...result };

  const values: unknown[] = [searched.map((t) => t.term)];
  const where = filters(request, exclude, values); // its first value, $2, is the user
  // The whole user: the matches come from the term index, the PRE_RANK_LIMIT with the most weight of
  // query terms (the sum of their idf) first, with their term frequencies. Filtered: from the user's
  // rows (the GIN index cannot serve tsvector @@ tsquery under row-level security, see migration 0007).
  // Reading every posting of the searched terms costs less than a pass over the user's rows, which
  // tests and ranks every match: also for 32 common terms (measured: chat turns at 2,000 messages,
  // p95 57 against 32 ms; pasted texts at 5,000, 16 against 33 ms at p50).
  const indexed = searchesWholeUser(request);
  const [matching, termFrequencies, order] = indexed
    ? [
        `(SELECT t.message_id, jsonb_object_agg(t.term, t.frequency) AS tf, sum(t.frequency) AS occurrences, count(*) OVER () AS matches
            FROM unnest($1::text[], $${values.push(searched.map((t) => bm25Idf(documents, t.documentFrequency)))}::float8[]) w(term, idf)
            -- One index range per term, whatever the statistics say: OFFSET 0 keeps the planner from
            -- making this a plain join, which on a user's terms not yet analyzed (a fresh import)
            -- it planned as the user's every term filtered against each query term: 260 ms for 32.
            CROSS JOIN LATERAL (SELECT t.message_id, t.term, t.frequency FROM ${ctx.schema}.ltst_message_terms t
                                 WHERE t.user_id = $2 AND t.term = w.term OFFSET 0) t
           GROUP BY t.message_id ORDER BY sum(w.idf) DESC, t.message_id DESC LIMIT ${PRE_RANK_LIMIT}) hit
           JOIN ${ctx.schema}.conversation_messages m ON m.message_id = hit.message_id
          WHERE ${where}`,
        'm.indexed_tf',
        // When all the matches are kept, their order does not matter.
        `CASE WHEN hit.matches > ${limit} THEN hit.occurrences END DESC NULLS LAST`,
      ]
    : [
        `${ctx.schema}.conversation_messages m, search WHERE ${where} AND m.content_tsv @@ search.q`,
        `(SELECT jsonb_object_agg(u.lexeme, coalesce(array_length(u.positions, 1), 1)) FROM unnest(m.content_tsv) u WHERE u.lexeme = ANY($1::text[]))`,
        'ts_rank_cd(m.content_tsv, search.q) DESC',
      ];
  // The candidates are the matches with the most occurrences of query terms (ties: the older first).
  // For a query of OR'd terms that is exactly ts_rank_cd's order: its covers are single occurrences,
  // each worth 0.1 (checked on every match of a LoCoMo user), so the term index gives it with no work
  // per match, where ts_rank_cd cost about 16 µs each. Pre-ranking by BM25 instead lost 1 point of
  // LoCoMo recall_any@5 to short one-word matches.
  const search = indexed
    ? ''
    : `search AS MATERIALIZED (SELECT to_tsquery('simple', string_agg(quote_literal(term), ' | ')) AS q FROM unnest($1::text[]) term), `;
  const { rows } = await tx.query<CandidateRow & { tf: Record<string, number>; len: number }>(
    `WITH ${search}matches AS (
       -- Only what the ranking reads: the rows of a sort are copied whole (a row with its vector is 2.4 kB).
       SELECT m.message_id, m."timestamp", m.relevance_score, m.content_tsv${indexed ? ', hit.tf AS indexed_tf' : ''} FROM ${matching}
        ORDER BY ${order}, m.message_id LIMIT ${limit}
     )
     -- The term frequencies of the kept candidates only.
     SELECT ${COLUMNS}, ${termFrequencies} AS tf, length(m.content_tsv) AS len
       FROM matches m`,
    values,
    { prepare: true },
  );
  return { candidates: rows.map((row) => ({ row, termFrequencies: new Map(Object.entries(row.tf)), length: Number(row.len) })), ...result };
}
