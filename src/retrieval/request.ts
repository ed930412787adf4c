import { invalidInput } from '../errors';
import { ROLES, type Role } from '../memory/message-input';
import { optionalDate, optionalId, requireId, requireOneOf, requireScore, requireWholeNumber } from '../memory/validation';
import { DEFAULT_RETRIEVAL_TIMEOUT_MS } from './bounds';
import type { DocumentsSource } from './documents';

export interface RetrieveContextRequest {
  userId: string;
  /** The conversation in progress: its recent window, context and related sessions. */
  sessionId?: string;
  /** What to recall; default: the session's latest human message. Cut to its first MAX_QUERY_CHARS (8,000) characters, and at most MAX_QUERY_TERMS (32) distinct terms are searched. */
  query?: string;
  /** Newest messages of the session returned as short-term memory (default 10). */
  recentLimit?: number;
  /** Long-term results (default 8). */
  topK?: number;
  /** Recall from all of the user's sessions (default) or only this session. */
  scope?: 'user' | 'session';
  /** Only messages whose timestamp is in [from, to]. */
  from?: Date | string;
  to?: Date | string;
  roles?: Role[];
  messageTypes?: string[];
  /** Drop long-term results scoring below this (0..1, default 0). */
  minRelevance?: number;
  /** Size of the rendered prompt block, in estimated tokens (default 2000). */
  tokenBudget?: number;
  includePreferences?: boolean;
  includeContext?: boolean;
  includeRelatedSessions?: boolean;
  /** Preferences below this confidence are left out (default 0.5). */
  minPreferenceConfidence?: number;
  /** Half-life of the recency boost, in days (default 30). */
  recencyHalfLifeDays?: number;
  /** Serve and fill memory_retrieval_cache (default true). */
  useCache?: boolean;
  /** Turns on each side of a relevant message to return with it, from its session (0..5, default 0). */
  neighbors?: number;
  /** Also search the store's documents table (MemoryConfig.documents) by the query embedding; refused when the store has none. */
  includeDocuments?: boolean;
  /** Refused: the documents table is the store's configuration (MemoryConfig.documents), never a request's. */
  documentsTable?: never;
  /** Document chunks returned (default 5). */
  topDocuments?: number;
  /** Weight of each retriever in the rank fusion (0..10; default vector 0.15, text 1, chosen on LoCoMo with the local model: see README). */
  fusionWeights?: { vector?: number; text?: number };
  /** Statement timeout of the retrieval's SQL, in ms (1..600,000, default 10,000); a PostgreSQL server enforces it, PGlite does not. */
  timeoutMs?: number;
}

export const DEFAULT_FUSION_WEIGHTS = { vector: 0.15, text: 1 };

export type NormalizedRequest = Required<Omit<RetrieveContextRequest, 'sessionId' | 'query' | 'from' | 'to' | 'roles' | 'messageTypes' | 'fusionWeights' | 'documentsTable'>> & {
  /** The store's documents table when the request includes documents (part of the cache key). */
  documents: DocumentsSource | null;
  fusionWeights: { vector: number; text: number };
  sessionId: string | null;
  query: string | null;
  from: Date | null;
  to: Date | null;
  roles: Role[] | null;
  messageTypes: string[] | null;
};

function optionalList<T extends string>(field: string, value: unknown, check: (field: string, item: unknown) => T): T[] | null {
  if (value === undefined || value === null) return null;
  if (!Array.isArray(value) || value.length === 0) throw invalidInput(field, 'is not a non-empty list', `Pass a list such as ["human"], or leave ${field} out.`);
  return value.map((item, index) => check(`${field}[${index}]`, item));
}

function weight(field: string, value: unknown, fallback: number): number {
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > 10) throw invalidInput(field, `is ${String(value)}`, 'Use a number from 0 to 10.');
  return value;
}

/** Text to search, or null: empty text means "use the session's latest human message". */
function optionalQuery(value: unknown): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string') throw invalidInput('query', `is not text but ${Array.isArray(value) ? 'a list' : typeof value}`, 'Pass the query as text (a string), or leave it out to use the latest human message of the session.');
  return value.trim() === '' ? null : value;
}

const flag = (value: unknown, fallback: boolean) => (value === undefined || value === null ? fallback : value === true);

/** Documents come from the store's configured table only: a request naming a table is refused, as is one asking for documents the store has not got. */
function documentsOf(input: RetrieveContextRequest, configured: DocumentsSource | undefined): DocumentsSource | null {
  if ((input as { documentsTable?: unknown }).documentsTable !== undefined) {
    throw invalidInput('documentsTable', 'is not a request option', "Set documents.table in the store's configuration (in n8n: Documents Table in the LTST Memory credential), and leave documentsTable out.");
  }
  if (!flag(input.includeDocuments, false)) return null;
  if (!configured) {
    throw invalidInput('includeDocuments', 'is on, but this store has no documents table', "Set documents.table in the store's configuration (in n8n: Documents Table in the LTST Memory credential), or turn includeDocuments off.");
  }
  return configured;
}

export function normalizeRequest(input: RetrieveContextRequest, configuredDocuments?: DocumentsSource): NormalizedRequest {
  const userId = requireId('userId', input?.userId);
  const sessionId = optionalId('sessionId', input.sessionId) ?? null;
  const scope = input.scope === undefined ? 'user' : requireOneOf('scope', input.scope, ['user', 'session'] as const);
  if (scope === 'session' && !sessionId) throw invalidInput('sessionId', 'is missing for scope "session"', 'Set sessionId, or use scope "user".');
  const query = optionalQuery(input.query);
  if (query === null && !sessionId) throw invalidInput('query', 'is missing', 'Set query, or set sessionId so the latest human message is used.');
  return {
    userId,
    sessionId,
    query,
    scope,
    recentLimit: requireWholeNumber('recentLimit', input.recentLimit, 10, 200),
    topK: requireWholeNumber('topK', input.topK, 8, 100),
    from: optionalDate('from', input.from) ?? null,
    to: optionalDate('to', input.to) ?? null,
    roles: optionalList('roles', input.roles, (field, item) => requireOneOf(field, item, ROLES)),
    messageTypes: optionalList('messageTypes', input.messageTypes, requireId),
    minRelevance: requireScore('minRelevance', input.minRelevance, 0),
    tokenBudget: requireWholeNumber('tokenBudget', input.tokenBudget, 2000, 200_000, 1),
    includePreferences: flag(input.includePreferences, true),
    includeContext: flag(input.includeContext, true),
    includeRelatedSessions: flag(input.includeRelatedSessions, true),
    minPreferenceConfidence: requireScore('minPreferenceConfidence', input.minPreferenceConfidence, 0.5),
    recencyHalfLifeDays: requireWholeNumber('recencyHalfLifeDays', input.recencyHalfLifeDays, 30, 36_500, 1),
    useCache: flag(input.useCache, true),
    neighbors: requireWholeNumber('neighbors', input.neighbors, 0, 5),
    includeDocuments: flag(input.includeDocuments, false),
    documents: documentsOf(input, configuredDocuments),
    topDocuments: requireWholeNumber('topDocuments', input.topDocuments, 5, 50, 1),
    fusionWeights: {
      vector: weight('fusionWeights.vector', input.fusionWeights?.vector, DEFAULT_FUSION_WEIGHTS.vector),
      text: weight('fusionWeights.text', input.fusionWeights?.text, DEFAULT_FUSION_WEIGHTS.text),
    },
    timeoutMs: requireWholeNumber('timeoutMs', input.timeoutMs, DEFAULT_RETRIEVAL_TIMEOUT_MS, 600_000, 1),
  };
}
