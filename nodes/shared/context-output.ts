import type { IDataObject } from 'n8n-workflow';
import type { ContextBundle } from '../../src';

/** Decimals kept in the node's scores: enough to rank by eye, short enough to read in a table. */
export const SCORE_DECIMALS = 3;

const round = (value: number | null | undefined): number | null =>
  typeof value === 'number' && Number.isFinite(value) ? Number(value.toFixed(SCORE_DECIMALS)) : (value ?? null);

type Message = ContextBundle['recentMessages'][number];
type Relevant = ContextBundle['relevantMessages'][number];

/** A message as a user reads it: who said what, when, and where (no hashes or idempotency keys). */
export function readableMessage(message: Message): IDataObject {
  const shown: IDataObject = {
    role: message.role,
    content: message.content,
    timestamp: message.timestamp as unknown as string,
    sessionId: message.sessionId,
    messageId: message.messageId,
  };
  if (message.metadata && Object.keys(message.metadata).length > 0) shown.metadata = message.metadata as IDataObject;
  return shown;
}

function readableRelevant(message: Relevant): IDataObject {
  const { vector, text, fused, recency, relevance } = message.scores;
  return {
    ...readableMessage(message),
    score: round(message.score),
    scores: { vector: round(vector), text: round(text), fused: round(fused), recency: round(recency), relevance: round(relevance) },
    ...(message.neighbors ? { neighbors: message.neighbors.map(readableMessage) } : {}),
  };
}

/**
 * What Retrieve Context outputs. Without details: `prompt` first (what goes into an LLM), then the
 * parts a user wires or reads, scores rounded to SCORE_DECIMALS. With details: the core's bundle
 * as it is (exact scores, hashes, idempotency keys, session row, stats), `prompt` still first.
 * Prompt Text Only gives `prompt` alone (and `stats` with details).
 */
export function contextOutput(bundle: ContextBundle, output: 'bundle' | 'prompt', includeDetails: boolean): IDataObject {
  if (output === 'prompt') return includeDetails ? { prompt: bundle.prompt, stats: bundle.stats } : { prompt: bundle.prompt };
  if (includeDetails) return { prompt: bundle.prompt, ...(bundle as unknown as IDataObject) };
  return {
    prompt: bundle.prompt,
    query: bundle.query,
    relevantMessages: bundle.relevantMessages.map(readableRelevant),
    recentMessages: bundle.recentMessages.map(readableMessage),
    preferences: bundle.preferences.map((p) => ({ key: p.key, value: p.value, type: p.type, confidence: round(p.confidence) })),
    context: bundle.context.map((c) => ({ type: c.type, key: c.key, value: c.value, relevance: round(c.relevance), expiresAt: c.expiresAt as unknown as string })),
    relatedSessions: bundle.relatedSessions.map((s) => ({
      sessionId: s.relatedSessionId,
      relationship: s.relationshipType,
      direction: s.direction,
      similarity: round(s.similarityScore),
      strength: round(s.relationshipStrength),
    })),
    documents: bundle.documents.map((d) => ({ content: d.content, metadata: d.metadata as IDataObject, similarity: round(d.similarity) })),
  };
}
