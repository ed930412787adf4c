import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { closeAllMemory } from '../../src';
import { onDatabase } from '../helpers/databases';

// The harness is plain CommonJS (it also runs outside jest).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const n8n = require('./n8n-harness');

const ROOT = path.join(__dirname, '..', '..');

/**
 * The package installed into a real n8n 2.41.1 the way the Community Nodes panel installs it, the
 * example workflow imported and executed, and its output and rows checked.
 */
describe('the chat-turn example in a real n8n', () => {
  let env: { dispose(): void };
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ltst-e2e-memory-'));

  beforeAll(async () => {
    // Jest sets NODE_ENV=test, under which n8n's CLI prints nothing: run it as in production.
    env = await n8n.createEnv({ vars: { NODE_ENV: 'production' } });
    n8n.installPackage(env, n8n.packPackage(ROOT));
    const credentials = path.join(dataDir, '..', `${path.basename(dataDir)}-credentials.json`);
    fs.writeFileSync(credentials, JSON.stringify([{ id: 'ltstMemoryCred01', name: 'LTST Memory', type: 'ltstMemoryPostgres', data: { connection: 'embedded', dataDir, schema: 'public', dimensions: 384 } }]));
    n8n.importCredentials(env, credentials);
    fs.rmSync(credentials);
  }, 120_000);

  afterAll(async () => {
    await closeAllMemory();
    env?.dispose();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('stores the turn, recalls it with the local model, and stores the reply', async () => {
    const id = n8n.importWorkflow(env, path.join(ROOT, 'examples', 'workflows', 'chat-turn.json'));
    const run = n8n.executeWorkflow(env, id);
    const [stored] = n8n.nodeItems(run, 'Store User Message');
    expect(stored).toMatchObject({ userId: 'demo-user', sessionId: 'demo-session', messageIndex: 0, role: 'human', duplicate: false });
    const [bundle] = n8n.nodeItems(run, 'Retrieve Context');
    expect(bundle.relevantMessages[0]).toMatchObject({ content: 'I love green tea, and my cat is called Tom', scores: { vector: expect.any(Number) } });
    expect(n8n.nodeItems(run, 'Store Reply')[0]).toMatchObject({ role: 'ai', messageIndex: 1, content: 'I remember: I love green tea, and my cat is called Tom' });

    // n8n has exited: the embedded database is ours to read.
    const rows = await onDatabase({ embedded: { dataDir } }, async (db) =>
      (await db.query<{ role: string; has_embedding: boolean }>('SELECT role, embedding IS NOT NULL AS has_embedding FROM public.conversation_messages ORDER BY message_index')).rows,
    );
    expect(rows).toEqual([{ role: 'human', has_embedding: true }, { role: 'ai', has_embedding: true }]);
  }, 180_000);
});
