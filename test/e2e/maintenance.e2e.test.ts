import { onDatabase } from '../helpers/databases';
import { memoryTargets, n8n, withN8n } from './with-n8n';
import { LATEST_VERSION } from '../helpers/migration-names';
const CREDENTIAL = { ltstMemoryPostgresApi: { id: 'ltstMemoryCred01', name: 'LTST Memory' } };

let position = 0;
const node = (name: string, type: string, parameters: Record<string, unknown>) => ({
  id: `5a1c0000-0000-4000-8000-0000000002${String(position).padStart(2, '0')}`,
  name,
  type,
  typeVersion: 1,
  position: [220 * position++, 0],
  parameters,
  ...(type.startsWith('n8n-nodes-ltst-memory.') ? { credentials: CREDENTIAL } : {}),
});
const store = (name: string, userId: string, sessionId: string, role: string, content: string) =>
  node(name, 'n8n-nodes-ltst-memory.ltstStoreMessage', { userId, sessionId, role, content, embeddings: 'none', options: {} });
const maintenance = (name: string, parameters: Record<string, unknown>) => node(name, 'n8n-nodes-ltst-memory.ltstMemoryMaintenance', parameters);

/** A workflow running `nodes` one after the other. */
function chain(id: string, name: string, nodes: Array<{ name: string }>) {
  const connections = Object.fromEntries(nodes.slice(0, -1).map((n, k) => [n.name, { main: [[{ node: nodes[k + 1].name, type: 'main', index: 0 }]] }]));
  return { id, name, active: false, settings: { executionOrder: 'v1' }, nodes, connections, pinData: {} };
}

/**
 * The LTST Memory Maintenance node in a real n8n 2.41.1, installed the way the Community Nodes panel
 * installs the package: the maintenance example, then a user's data exported and deleted.
 */
describe.each(memoryTargets)('the maintenance node in a real n8n, memory %s', (target) => {
  const { memory, runExample, runWorkflow } = withN8n(target, 'maintenance');

  it('runs the maintenance example: cleans expired entries, then reports a healthy schema', () => {
    const run = runExample('maintenance.json');
    expect(n8n.nodeItems(run, 'Clean Expired')).toEqual([{ cache: 0, context: 0, erasures: 0 }]);
    const health = n8n.nodeItems(run, 'Health');
    expect(health).toHaveLength(1);
    expect(health[0]).toMatchObject({ ok: true, installed: true, version: LATEST_VERSION, latestVersion: LATEST_VERSION, pendingMigrations: [], missingObjects: [] });
  }, 180_000);

  it("exports and deletes one user's stored messages and leaves another user's alone", async () => {
    const workflow = chain('ltstMaintDelete01', 'LTST maintenance e2e: delete user data', [
      node('Start', 'n8n-nodes-base.manualTrigger', {}),
      store('Store Human', 'gone-user', 'gone-session', 'human', 'Please forget me'),
      store('Store AI', 'gone-user', 'gone-session', 'ai', 'I will'),
      store('Store Other User', 'kept-user', 'kept-session', 'human', 'Keep me'),
      maintenance('Export', { operation: 'exportUserData', userId: 'gone-user' }),
      maintenance('Delete', { operation: 'deleteUserData', userId: 'gone-user' }),
    ]);
    const run = runWorkflow(workflow);

    const [exported] = n8n.nodeItems(run, 'Export');
    expect(exported).toMatchObject({ userId: 'gone-user', sessions: [{ sessionId: 'gone-session' }] });
    expect(exported.sessions[0].messages.map((m: { role: string; content: string }) => [m.role, m.content])).toEqual([
      ['human', 'Please forget me'],
      ['ai', 'I will'],
    ]);
    const deleted = n8n.nodeItems(run, 'Delete');
    expect(deleted).toEqual([{ userId: 'gone-user', sessions: 1, messages: 2, context: 0, relationships: 0, cache: 0, preferences: 0, events: 0, metrics: expect.any(Number) }]);
    expect(run.data.resultData.runData.Delete[0].data.main[0][0].pairedItem).toEqual({ item: 0 });

    // n8n has exited: the embedded database is ours to read.
    const left = await onDatabase(memory, async (db) =>
      (await db.query<{ user_id: string; n: number }>(`SELECT user_id, count(*)::int AS n FROM ${memory.schema}.conversation_messages GROUP BY user_id ORDER BY user_id`)).rows,
    );
    expect(left).toEqual([{ user_id: 'kept-user', n: 1 }]);
  }, 180_000);
});
