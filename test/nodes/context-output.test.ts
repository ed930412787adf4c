import type { ContextBundle } from '../../src';
import { contextOutput } from '../../nodes/shared/context-output';
import { storedOutput } from '../../nodes/shared/stored-output';

const message = (messageId: number, role: 'human' | 'ai', content: string) => ({
  messageId,
  sessionId: 's1',
  userId: 'u1',
  role,
  content,
  messageType: 'message',
  messageIndex: messageId,
  contentHash: 'c0ffee-content-hash',
  contextHash: 'c0ffee-context-hash',
  parentMessageId: null,
  metadata: {},
  idempotencyKey: 'exec-9:node-1:0:0',
  timestamp: new Date('2026-11-01T10:00:00Z'),
  createdAt: new Date('2026-11-01T10:00:00Z'),
  duplicate: false,
});

const bundle = (): ContextBundle => ({
  query: 'green tea',
  session: { sessionId: 's1', userId: 'u1' } as ContextBundle['session'],
  recentMessages: [message(2, 'ai', 'Noted.')],
  relevantMessages: [
    {
      ...message(1, 'human', 'I love green tea'),
      score: 0.9499999953469287,
      scores: { vector: 0.8123456789, text: 2.71828182845, fused: 1, recency: 0.99976, relevance: 0 },
    },
  ],
  context: [],
  preferences: [{ preferenceId: 7, userId: 'u1', key: 'drink', value: 'green tea', type: 'preference', confidence: 0.6666666 } as ContextBundle['preferences'][number]],
  relatedSessions: [],
  documents: [{ content: 'chunk', metadata: {}, similarity: 0.123456 }],
  prompt: 'Relevant memories:\n- I love green tea',
  stats: { totalMs: 12, embeddingMs: 3, searchMs: 5, cacheHit: false, tokensUsed: 9, candidates: { vector: 1, text: 1 }, generation: 4, query: { characters: 9, truncated: false, terms: 2, termsSearched: 2 } },
});

describe('Retrieve Context output', () => {
  it('puts prompt first, so Table view shows it in the first column', () => {
    expect(Object.keys(contextOutput(bundle(), 'bundle', false))[0]).toBe('prompt');
    expect(Object.keys(contextOutput(bundle(), 'bundle', true))[0]).toBe('prompt');
    expect(Object.keys(contextOutput(bundle(), 'prompt', false))).toEqual(['prompt']);
  });

  it('rounds every score to 3 decimals for display', () => {
    const out = contextOutput(bundle(), 'bundle', false) as unknown as ContextBundle;
    expect(out.relevantMessages[0]).toMatchObject({ score: 0.95, scores: { vector: 0.812, text: 2.718, fused: 1, recency: 1, relevance: 0 } });
    expect(out.preferences[0].confidence).toBe(0.667);
    expect(out.documents[0].similarity).toBe(0.123);
  });

  it('keeps hashes, idempotency keys, the session row and stats out unless Include Details is on', () => {
    const shown = JSON.stringify(contextOutput(bundle(), 'bundle', false));
    for (const internal of ['contentHash', 'contextHash', 'idempotencyKey', 'generation', 'candidates', 'cacheHit', 'stats', 'preferenceId', 'messageIndex']) {
      expect(shown).not.toContain(internal);
    }
    expect(contextOutput(bundle(), 'bundle', false)).not.toHaveProperty('session');
    expect(contextOutput(bundle(), 'bundle', false).relevantMessages).toEqual([
      expect.objectContaining({ role: 'human', content: 'I love green tea', sessionId: 's1', messageId: 1 }),
    ]);
  });

  it('gives the exact bundle with Include Details: no precision is lost', () => {
    const original = bundle();
    const out = contextOutput(original, 'bundle', true) as unknown as ContextBundle;
    expect(out).toEqual(original);
    expect(out.relevantMessages[0].score).toBe(0.9499999953469287);
    expect(contextOutput(bundle(), 'prompt', true)).toEqual({ prompt: original.prompt, stats: original.stats });
  });
});

describe('Store Message output', () => {
  const stored = { ...message(5, 'human', 'I love green tea'), parentMessageId: 4, metadata: { channel: 'web' }, duplicate: true };

  it('shows the turn, its user, its place and whether it was stored before, without hashes or keys', () => {
    expect(storedOutput(stored, false)).toEqual({
      role: 'human',
      content: 'I love green tea',
      timestamp: stored.timestamp,
      sessionId: 's1',
      messageId: 5,
      metadata: { channel: 'web' },
      userId: 'u1',
      messageIndex: 5,
      messageType: 'message',
      parentMessageId: 4,
      duplicate: true,
    });
  });

  it('leaves out a parent that is not set', () => {
    expect(storedOutput({ ...stored, parentMessageId: null }, false)).not.toHaveProperty('parentMessageId');
  });

  it('with Include Details gives the stored row as it is', () => {
    expect(storedOutput(stored, true)).toEqual(stored);
  });
});
