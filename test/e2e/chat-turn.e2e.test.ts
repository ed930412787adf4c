import { onDatabase } from '../helpers/databases';
import { memoryTargets, n8n, withN8n } from './with-n8n';

/** The chat-turn example executed in a real n8n 2.41.1, its output and rows checked. */
describe.each(memoryTargets)('the chat-turn example in a real n8n, memory %s', (target) => {
  const { memory, runExample } = withN8n(target, 'chat_turn');

  it('stores the turn, recalls it with the local model, and stores the reply', async () => {
    const run = runExample('chat-turn.json');
    const [stored] = n8n.nodeItems(run, 'Store User Message');
    expect(stored).toMatchObject({ userId: 'demo-user', sessionId: 'demo-session', messageIndex: 0, role: 'human', duplicate: false });
    const [bundle] = n8n.nodeItems(run, 'Retrieve Context');
    expect(bundle.relevantMessages[0]).toMatchObject({ content: 'I love green tea, and my cat is called Tom', scores: { vector: expect.any(Number) } });
    // What goes into an LLM comes first; scores are rounded for display, internals left out (Include Details is off).
    expect(Object.keys(bundle)[0]).toBe('prompt');
    const decimals = (n: number) => (String(n).split('.')[1] ?? '').length;
    expect(decimals(bundle.relevantMessages[0].score)).toBeLessThanOrEqual(3);
    expect(decimals(bundle.relevantMessages[0].scores.vector)).toBeLessThanOrEqual(3);
    expect(bundle).not.toHaveProperty('stats');
    expect(bundle.relevantMessages[0]).not.toHaveProperty('contentHash');
    expect(bundle.relevantMessages[0]).not.toHaveProperty('idempotencyKey');
    expect(n8n.nodeItems(run, 'Store Reply')[0]).toMatchObject({ role: 'ai', messageIndex: 1, content: 'I remember: I love green tea, and my cat is called Tom' });

    // n8n has exited (an embedded database is ours to read now).
    const rows = await onDatabase(memory, async (db) =>
      (await db.query<{ role: string; has_embedding: boolean }>(`SELECT role, embedding IS NOT NULL AS has_embedding FROM ${memory.schema}.conversation_messages ORDER BY message_index`)).rows,
    );
    expect(rows).toEqual([{ role: 'human', has_embedding: true }, { role: 'ai', has_embedding: true }]);
  }, 180_000);
});
