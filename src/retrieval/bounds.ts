import { LtstError, errorCode } from '../errors';
import { bm25Idf } from './scoring';

/**
 * Work per retrieval is bounded, whatever the query: Retrieve Context's query defaults to the chat
 * input, and one pasted document must not hold a connection for minutes.
 */

/**
 * Longest query searched, in characters; a longer one is cut (not refused: a pasted document is a
 * normal chat input) and the bundle says so. 8,000 characters is about 1,300 English words: enough
 * for the terms of any question, and far under the 8,191-token input limit of OpenAI's embedding models.
 */
export const MAX_QUERY_CHARS = 8_000;

/**
 * Most distinct stemmed terms searched. Questions have far fewer (LoCoMo's 760: at most 15, median 5);
 * a longer text keeps its most informative 32, as Lucene's MoreLikeThis keeps its top 25 terms.
 */
export const MAX_QUERY_TERMS = 32;

/** Statement timeout of a retrieval unless the request sets timeoutMs. */
export const DEFAULT_RETRIEVAL_TIMEOUT_MS = 10_000;

const isHighSurrogate = (code: number) => code >= 0xd800 && code <= 0xdbff;

/** The query cut to MAX_QUERY_CHARS, at a word boundary when one is near, never inside a surrogate pair. */
export function boundQuery(query: string, max = MAX_QUERY_CHARS): { text: string; truncated: boolean } {
  if (query.length <= max) return { text: query, truncated: false };
  let end = max;
  const space = query.lastIndexOf(' ', max);
  if (space > max - 100) end = space;
  else if (isHighSurrogate(query.charCodeAt(end - 1))) end -= 1;
  return { text: query.slice(0, end), truncated: true };
}

/** A distinct stemmed term of the query: how often the query has it and how many searched messages do. */
export interface QueryTerm {
  term: string;
  queryFrequency: number;
  documentFrequency: number;
}

/**
 * The terms worth searching, most informative first: terms no searched message has are dropped
 * (they match nothing), then the rest ranked by tf-idf over the user's messages (BM25's idf, and a
 * sublinear 1 + ln tf, so a word a pasted text repeats counts, but a rare word counts more), ties
 * broken by the term, and the first `max` kept. A query with at most `max` such terms keeps them all.
 */
export function pickQueryTerms(terms: QueryTerm[], documents: number, max = MAX_QUERY_TERMS): QueryTerm[] {
  const weight = (t: QueryTerm) => (1 + Math.log(t.queryFrequency)) * bm25Idf(documents, t.documentFrequency);
  return terms
    .filter((t) => t.documentFrequency > 0)
    .map((t) => ({ t, w: weight(t) }))
    .sort((a, b) => b.w - a.w || (a.t.term < b.t.term ? -1 : a.t.term > b.t.term ? 1 : 0))
    .slice(0, max)
    .map(({ t }) => t);
}

const QUERY_CANCELED = '57014';

/** A statement cancelled by the timeout as a typed error; anything else unchanged. */
export function timeoutError(error: unknown, timeoutMs: number): unknown {
  const sqlState = error instanceof LtstError ? error.sqlState : errorCode(error);
  if (sqlState !== QUERY_CANCELED) return error;
  return new LtstError('QUERY_FAILED', `Retrieval was stopped by its statement timeout of ${timeoutMs} ms`, {
    sqlState: QUERY_CANCELED,
    hint: 'Shorten the query or narrow the search (scope, from/to), or raise timeoutMs.',
    cause: error,
  });
}
