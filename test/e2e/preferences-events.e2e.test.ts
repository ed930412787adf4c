import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { closeAllMemory } from '../../src';
import { onDatabase } from '../helpers/databases';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const n8n = require('./n8n-harness');

const ROOT = path.join(__dirname, '..', '..');

describe('the preference and event-ledger examples in a real n8n', () => {
  let env: { dispose(): void };
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ltst-e2e-prefs-'));
  const run = (example: string) => n8n.executeWorkflow(env, n8n.importWorkflow(env, path.join(ROOT, 'examples', 'workflows', example)));

  beforeAll(async () => {
    env = await n8n.createEnv({ vars: { NODE_ENV: 'production' } });
    n8n.installPackage(env, n8n.packPackage(ROOT));
    const credentials = `${dataDir}-credentials.json`;
    fs.writeFileSync(credentials, JSON.stringify([{ id: 'ltstMemoryCred01', name: 'LTST Memory', type: 'ltstMemoryPostgres', data: { connection: 'embedded', dataDir } }]));
    n8n.importCredentials(env, credentials);
    fs.rmSync(credentials);
  }, 120_000);

  afterAll(async () => {
    await closeAllMemory();
    env?.dispose();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('learns a preference: stated, reinforced, and not replaced by a weaker guess', () => {
    const result = run('preference-learning.json');
    expect(n8n.nodeItems(result, 'User Says Portuguese')[0]).toMatchObject({ outcome: 'created', preference: { value: 'pt', confidence: 0.9 } });
    expect(n8n.nodeItems(result, 'Seen Again')[0].outcome).toBe('reinforced');
    expect(n8n.nodeItems(result, 'Seen Again')[0].preference.confidence).toBeCloseTo(1 - 0.1 * 0.5, 10);
    expect(n8n.nodeItems(result, 'Guess Otherwise')[0]).toMatchObject({ outcome: 'weakened', preference: { value: 'pt' } });
    expect(n8n.nodeItems(result, 'List')[0].preferences.map((p: { key: string; value: string }) => [p.key, p.value])).toEqual([['language', 'pt']]);
  }, 120_000);

  it('logs an event with its origin, claims it once and completes it', async () => {
    const result = run('event-ledger.json');
    const [logged] = n8n.nodeItems(result, 'Log');
    expect(logged).toMatchObject({ eventType: 'memory.summarise', status: 'pending', priority: 5, eventData: { sessionId: 'demo-session' }, metadata: { node: 'Log' } });
    expect(logged.metadata.executionId).toBeTruthy();
    expect(n8n.nodeItems(result, 'Claim')[0].events.map((e: { eventId: number }) => e.eventId)).toEqual([logged.eventId]);
    expect(n8n.nodeItems(result, 'Complete')[0]).toMatchObject({ eventId: logged.eventId, status: 'done' });
    const rows = await onDatabase({ embedded: { dataDir } }, async (db) => (await db.query('SELECT status FROM public.event_ledger')).rows);
    expect(rows).toEqual([{ status: 'done' }]);
  }, 120_000);
});
