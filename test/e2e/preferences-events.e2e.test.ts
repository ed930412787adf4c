import { onDatabase } from '../helpers/databases';
import { memoryTargets, n8n, withN8n } from './with-n8n';

describe.each(memoryTargets)('the preference and event-ledger examples in a real n8n, memory %s', (target) => {
  const { memory, runExample: run } = withN8n(target, 'preferences_events');

  it('learns a preference: stated, reinforced, and not replaced by a weaker guess', () => {
    const result = run('preference-learning.json');
    expect(n8n.nodeItems(result, 'User Says Portuguese')[0]).toMatchObject({ outcome: 'created', preference: { value: 'pt', confidence: 0.9 } });
    expect(n8n.nodeItems(result, 'Seen Again')[0].outcome).toBe('reinforced');
    expect(n8n.nodeItems(result, 'Seen Again')[0].preference.confidence).toBeCloseTo(1 - 0.1 * 0.5, 10);
    expect(n8n.nodeItems(result, 'Guess Otherwise')[0]).toMatchObject({ outcome: 'weakened', preference: { value: 'pt' } });
    expect(n8n.nodeItems(result, 'List')[0].preferences.map((p: { key: string; value: string }) => [p.key, p.value])).toEqual([['language', 'pt']]);
  }, 120_000);

  it('logs an event with its origin, claims it once under a lease and completes it with its claim token', async () => {
    const result = run('event-ledger.json');
    const [logged] = n8n.nodeItems(result, 'Log');
    expect(logged).toMatchObject({ eventType: 'memory.summarise', status: 'pending', priority: 5, eventData: { sessionId: 'demo-session' }, metadata: { node: 'Log' } });
    expect(logged.metadata.executionId).toBeTruthy();
    const [claimed] = n8n.nodeItems(result, 'Claim')[0].events;
    expect(n8n.nodeItems(result, 'Claim')[0].events).toHaveLength(1);
    expect(claimed).toMatchObject({ eventId: logged.eventId, status: 'processing', claimToken: expect.stringMatching(/^[0-9a-f-]{36}$/) });
    // The example claims with a 120 s lease.
    expect(Date.parse(claimed.leaseExpiresAt) - Date.parse(claimed.claimedAt)).toBe(120_000);
    // Complete takes the token from the split-out event ({{ $json.claimToken }}).
    expect(n8n.nodeItems(result, 'Complete')[0]).toMatchObject({ eventId: logged.eventId, status: 'done', claimToken: claimed.claimToken });
    const rows = await onDatabase(memory, async (db) => (await db.query(`SELECT status FROM ${memory.schema}.event_ledger`)).rows);
    expect(rows).toEqual([{ status: 'done' }]);
  }, 120_000);
});
