import type { Queryable } from '../db/database';
import type { MemoryContext } from '../memory/context';
import { MESSAGE_COLUMNS, type MessageRow } from '../memory/messages';
import type { NormalizedRequest } from './request';

/** A candidate message with the evidence each retriever found for it. */
export interface Candidate {
  row: MessageRow & { relevance_score: number };
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

const COLUMNS = `${MESSAGE_COLUMNS}, relevance_score`;

/**
 * The WHERE clause shared by both retrievers: always the user (isolation), then scope, time,
 * roles, message types, and the recent window left out. Values are appended to `values`.
 */
function filters(request: NormalizedRequest, exclude: number[], values: unknown[]): string {
  const add = (value: unknown) => `$${values.push(value)}`;
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
 * Up to this many messages a user's nearest messages are found exactly, through the user's index and
 * a sort: a few milliseconds, and exact. HNSW filtered to one user is approximate, and poor when the
 * user is a small share of the graph (measured: 0.88 recall@10 for 100 messages among 150,000).
 */
export const EXACT_SEARCH_MAX_MESSAGES = 20_000;

/**
 * Nearest messages by cosine distance: exactly for users up to EXACT_SEARCH_MAX_MESSAGES, else
 * through the HNSW index with iterative scan (pgvector 0.8+), which keeps searching the graph until
 * enough rows pass the user filter; relaxed order is re-sorted here.
 */
export async function vectorCandidates(tx: Queryable, ctx: MemoryContext, vectorSchema: string, request: NormalizedRequest, embedding: number[], exclude: number[], limit: number, exact: boolean): Promise<Candidate[]> {
  if (!exact) await tx.exec(`SET LOCAL hnsw.ef_search = ${Math.max(40, limit * 2)}; SET LOCAL hnsw.iterative_scan = relaxed_order`);
  const values: unknown[] = [`[${embedding.join(',')}]`];
  const where = filters(request, exclude, values);
  const distance = `m.embedding OPERATOR(${vectorSchema}.<=>) $1::${vectorSchema}.vector`;
  const { rows } = await tx.query<MessageRow & { relevance_score: number; distance: number }>(
    `SELECT ${COLUMNS}, ${distance} AS distance
       FROM ${ctx.schema}.conversation_messages m
      WHERE ${where} AND m.embedding IS NOT NULL
      -- "+ 0" makes the order an expression the HNSW index cannot serve: exact search.
      ORDER BY ${exact ? `(${distance}) + 0` : distance}
      LIMIT ${limit}`,
    values,
  );
  return rows.sort((a, b) => a.distance - b.distance).map((row) => ({ row, similarity: 1 - Number(row.distance) }));
}

/**
 * Messages sharing any stemmed query term (OR of the terms, so a question's words need not all
 * appear), pre-ranked by ts_rank_cd, with the term frequencies and corpus statistics for BM25:
 * PostgreSQL's own ranking has no inverse document frequency.
 */
export async function textCandidates(tx: Queryable, ctx: MemoryContext, request: NormalizedRequest, query: string, exclude: number[], limit: number): Promise<{ candidates: Candidate[]; statistics: TermStatistics }> {
  const values: unknown[] = [query];
  const where = filters(request, exclude, values);
  const { rows } = await tx.query<MessageRow & { relevance_score: number; n: number; avg_length: number; df: Record<string, number>; tf: Record<string, number> | null; len: number }>(
    `WITH terms AS (
       SELECT DISTINCT lexeme AS term FROM unnest(to_tsvector('english', $1))
     ), search AS (
       SELECT to_tsquery('simple', string_agg(quote_literal(term), ' | ')) AS q FROM terms
     ), scoped AS (
       SELECT m.* FROM ${ctx.schema}.conversation_messages m WHERE ${where}
     ), matches AS (
       SELECT s.* FROM scoped s, search WHERE s.content_tsv @@ search.q
        ORDER BY ts_rank_cd(s.content_tsv, search.q) DESC LIMIT ${limit}
     ), stats AS (
       SELECT (SELECT count(*) FROM scoped)::int AS n,
              (SELECT coalesce(avg(length(content_tsv)), 0) FROM scoped)::float8 AS avg_length,
              (SELECT jsonb_object_agg(t.term, (SELECT count(*) FROM scoped s WHERE s.content_tsv @@ to_tsquery('simple', quote_literal(t.term)))) FROM terms t) AS df
     )
     -- Statistics ride on every match row: with no match they are not needed.
     SELECT ${COLUMNS.replace(/\s+/g, ' ').split(', ').map((column) => `m.${column}`).join(', ')}, stats.n, stats.avg_length, stats.df,
            (SELECT jsonb_object_agg(u.lexeme, coalesce(array_length(u.positions, 1), 1)) FROM unnest(m.content_tsv) u WHERE u.lexeme IN (SELECT term FROM terms)) AS tf,
            length(m.content_tsv) AS len
       FROM matches m CROSS JOIN stats`,
    values,
  );
  const first = rows[0];
  return {
    candidates: rows.map((row) => ({ row, termFrequencies: new Map(Object.entries(row.tf ?? {})), length: Number(row.len) })),
    statistics: {
      documents: Number(first?.n ?? 0),
      averageLength: Number(first?.avg_length ?? 0),
      documentFrequency: new Map(Object.entries(first?.df ?? {}).map(([term, df]) => [term, Number(df)])),
    },
  };
}
