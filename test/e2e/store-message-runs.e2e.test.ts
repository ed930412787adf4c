import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { closeAllMemory, openMemory, type MemoryConfig } from '../../src';
import { onDatabase } from '../helpers/databases';
import { memoryTargets, n8n, withN8n } from './with-n8n';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

const ROOT = path.join(__dirname, '..', '..');
const workflowFile = (file: string) => path.join(__dirname, 'workflows', file);
const readWorkflow = (file: string): Json => JSON.parse(fs.readFileSync(workflowFile(file), 'utf8'));
const STORE_NODE_ID = readWorkflow('store-message-loop.json').nodes.find((n: Json) => n.name === 'Store Message').id as string;

/** The loop workflow with its Gate pointing at `port`. */
function loopWorkflow(port: number): Json {
  return JSON.parse(fs.readFileSync(workflowFile('store-message-loop.json'), 'utf8').replace('GATE_PORT', String(port)));
}

/** The items workflow with the Code node's items and Continue On Fail as given. */
function itemsWorkflow(items: object[], continueOnFail: boolean): Json {
  const workflow = readWorkflow('store-message-items.json');
  workflow.nodes[1].parameters.jsCode = `return ${JSON.stringify(items.map((json) => ({ json })))};`;
  if (!continueOnFail) delete workflow.nodes[2].onError;
  return workflow;
}

/**
 * The loop's Gate: an HTTP endpoint answering 200, except 500 the first time it sees a text listed in
 * `failOnce` (a downstream API failing once, as a real one does).
 */
interface Gate {
  port: number;
  failOnce: Set<string>;
  calls: string[];
  close(): Promise<void>;
}
async function startGate(): Promise<Gate> {
  const failOnce = new Set<string>();
  const calls: string[] = [];
  const server = http.createServer((req, res) => {
    const text = new URL(req.url ?? '/', 'http://x').searchParams.get('text') ?? '';
    calls.push(text);
    const fail = failOnce.delete(text);
    res.writeHead(fail ? 500 : 200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(fail ? { error: 'gate down' } : { ok: true }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    failOnce,
    calls,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** Rows of the memory database, read with the database closed again afterwards (n8n opens it next). */
async function messageRows(memory: MemoryConfig & { schema: string }, userId: string) {
  try {
    return await onDatabase(memory, async (db) =>
      (await db.query<{ session_id: string; content: string; idempotency_key: string }>(
        `SELECT session_id, content, idempotency_key FROM ${memory.schema}.conversation_messages WHERE user_id = $1 ORDER BY message_id`,
        [userId],
      )).rows,
    );
  } finally {
    await closeAllMemory();
  }
}

describe.each(memoryTargets)('Store Message runs and items in a real n8n, memory %s', (target) => {
  const { memory, runWorkflowAsync, importCredentials } = withN8n(target, 'store_runs');
  let gate: Gate;
  beforeAll(async () => (gate = await startGate()));
  afterAll(() => gate?.close());

  it('stores every pass of a Loop Over Items of batch size 1: three runs of item 0, three messages', async () => {
    const run = await runWorkflowAsync(loopWorkflow(gate.port));
    const runs = run.data.resultData.runData['Store Message'];
    expect(runs).toHaveLength(3);
    const outputs = runs.map((r: Json) => r.data.main[0].map((i: Json) => i.json));
    expect(outputs.map((items: Json[]) => items.map((m) => [m.content, m.duplicate]))).toEqual([[['first', false]], [['second', false]], [['third', false]]]);

    const rows = await messageRows(memory, 'loop-user');
    expect(rows.map((r) => [r.session_id, r.content])).toEqual([['loop-a', 'first'], ['loop-a', 'second'], ['loop-b', 'third']]);
    // <execution>:<node>:<run>:<item>: the run index tells the passes apart.
    const executionId = rows[0].idempotency_key.split(':')[0];
    expect(rows.map((r) => r.idempotency_key)).toEqual([0, 1, 2].map((runIndex) => `${executionId}:${STORE_NODE_ID}:${runIndex}:0`));
  }, 180_000);

  it.each([
    ['content that is not text', { text: 12345 }, 'content', 'content is not text: 12345'],
    ['a parent message of no session of its own', { text: 'child', parent: 999_999_999 }, 'parentMessageId', 'parentMessageId 999999999 is not a message of session "items-session"'],
  ])('with Continue On Fail, a middle item with %s becomes an error item naming the field; items 0 and 2 are stored', async (_label, middle, field, message) => {
    const user = `cof-${field}`;
    const workflow = itemsWorkflow([{ text: 'item zero' }, middle, { text: 'item two' }], true);
    workflow.nodes[2].parameters.userId = user;
    workflow.nodes[2].parameters.sessionId = `${user}-session`;
    const run = await runWorkflowAsync(workflow);
    const out = n8n.nodeItems(run, 'Store Message');
    expect(out).toHaveLength(3);
    expect(out[0]).toMatchObject({ content: 'item zero', duplicate: false });
    expect(out[1]).toEqual({ error: message.replace('items-session', `${user}-session`), code: 'INVALID_INPUT', field });
    expect(out[2]).toMatchObject({ content: 'item two', duplicate: false });
    expect((await messageRows(memory, user)).map((r) => r.content)).toEqual(['item zero', 'item two']);
  }, 180_000);

  it('without Continue On Fail, the error names item 1 and the field, and nothing is stored', async () => {
    const workflow = itemsWorkflow([{ text: 'item zero' }, { text: 'child', parent: 999_999_999 }, { text: 'item two' }], false);
    workflow.nodes[2].parameters.userId = 'strict-user';
    const run = await runWorkflowAsync(workflow, { allowError: true });
    const error = run.data.resultData.error;
    expect(run.data.resultData.lastNodeExecuted).toBe('Store Message');
    expect(error.message).toBe('parentMessageId 999999999 is not a message of session "items-session"');
    expect(error.context.itemIndex).toBe(1);
    expect(error.description).toMatch(/Use the messageId of an earlier message in the same session/);
    expect(await messageRows(memory, 'strict-user')).toEqual([]);
  }, 180_000);

  // The credential is what matters here, not the memory target: once is enough.
  (target === 'embedded' ? it : it.skip)('an error of no particular item (no database) fails every item: error items with Continue On Fail, else a node error', async () => {
    const port = await n8n.freePort(); // nothing listens there
    const data = { connection: 'server', host: '127.0.0.1', port, database: 'none', user: 'none', password: 'none', ssl: 'disable', schema: 'public' };
    importCredentials([{ id: 'ltstNoDatabase01', name: 'No database', type: 'ltstMemoryPostgresApi', data }]);
    const noDatabase = (continueOnFail: boolean) => {
      const workflow = itemsWorkflow([{ text: 'a' }, { text: 'b' }, { text: 'c' }], continueOnFail);
      workflow.nodes[2].credentials.ltstMemoryPostgresApi = { id: 'ltstNoDatabase01', name: 'No database' };
      return workflow;
    };
    const out = n8n.nodeItems(await runWorkflowAsync(noDatabase(true)), 'Store Message');
    expect(out.map((item: Json) => item.code)).toEqual(['CONNECTION_FAILED', 'CONNECTION_FAILED', 'CONNECTION_FAILED']);
    expect(out[0].error).toMatch(new RegExp(`127\\.0\\.0\\.1:${port}`));

    const run = await runWorkflowAsync(noDatabase(false), { allowError: true });
    expect(run.data.resultData.error.message).toBe(out[0].error);
    expect(run.data.resultData.error.context.itemIndex).toBeUndefined();
  }, 180_000);
});

/** Signs in to a running n8n and calls its REST API (the editor's own). */
class Rest {
  private cookie = '';
  constructor(readonly base: string) {}
  /** One request on its own connection: n8n may close an idle keep-alive socket just as it is reused. */
  call(method: string, route: string, body?: unknown): Promise<{ status: number; body: Json }> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = http.request(this.base + route, { method, agent: false, headers: { 'content-type': 'application/json', ...(this.cookie ? { cookie: this.cookie } : {}) } }, (res) => {
        const auth = (res.headers['set-cookie'] ?? []).find((c) => c.startsWith('n8n-auth='));
        if (auth) this.cookie = auth.split(';')[0];
        let text = '';
        res.on('data', (chunk) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text.startsWith('{') ? JSON.parse(text) : text }));
      });
      req.on('error', reject);
      req.end(payload);
    });
  }
  async ok(method: string, route: string, body?: unknown): Promise<Json> {
    const r = await this.call(method, route, body);
    if (r.status !== 200) throw new Error(`${method} ${route}: HTTP ${r.status} ${JSON.stringify(r.body).slice(0, 500)}`);
    return r.body.data;
  }
  /** Runs a saved workflow as the editor does and waits for its end; returns the execution's summary. */
  async run(workflowId: string): Promise<{ id: string; status: string }> {
    const { executionId } = await this.ok('POST', `/rest/workflows/${workflowId}/run`, { triggerToStartFrom: { name: 'Start' } });
    for (let i = 0; i < 1200; i += 1) {
      const execution = await this.ok('GET', `/rest/executions/${executionId}`);
      if (!['new', 'running', 'waiting'].includes(execution.status)) return { id: executionId, status: execution.status };
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    throw new Error(`execution ${executionId} did not end`);
  }
}

/**
 * n8n's retry of a failed execution (Executions > Retry; POST /rest/executions/:id/retry) is a new
 * execution (new id, retryOf the old one) that resumes the failed one's data: nodes that succeeded
 * keep their output and do not run again; the failed node runs again with the same run index and
 * items. Here Store Message itself fails once (the third turn's session belongs to another user
 * until that user's data is deleted) and the Gate after it fails once: two retries complete the
 * loop with exactly three messages, each under the key of the first execution.
 */
describe("n8n's retry of a failed execution, in a running n8n (REST API), embedded memory", () => {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'ltst-e2e-retry-'));
  const memory = { embedded: { dataDir: path.join(work, 'memory') }, schema: 'public', embeddings: { provider: 'none' as const } };
  let env: Json;
  let child: ChildProcess | undefined;
  let gate: Gate;
  let rest: Rest;

  beforeAll(async () => {
    gate = await startGate();
    env = await n8n.createEnv({
      vars: { NODE_ENV: 'production', N8N_LISTEN_ADDRESS: '127.0.0.1', N8N_SECURE_COOKIE: 'false', N8N_DISABLED_MODULES: 'mcp-registry' },
    });
    n8n.installFromSource(env, ROOT);
    const file = (name: string, content: object) => {
      fs.writeFileSync(path.join(work, name), JSON.stringify(content));
      return path.join(work, name);
    };
    n8n.importCredentials(env, file('credentials.json', [{ id: 'ltstMemoryCred01', name: 'LTST Memory', type: 'ltstMemoryPostgresApi', data: { connection: 'embedded', dataDir: memory.embedded.dataDir } }]));
    const freeSession = {
      id: 'ltstFreeSession1',
      name: 'LTST e2e: delete the other user',
      nodes: [
        { id: 'f0000000-0000-4000-8000-000000000001', name: 'Start', type: 'n8n-nodes-base.manualTrigger', typeVersion: 1, position: [0, 0], parameters: {} },
        {
          id: 'f0000000-0000-4000-8000-000000000002',
          name: 'Delete User Data',
          type: 'n8n-nodes-ltst-memory.ltstMemoryMaintenance',
          typeVersion: 1,
          position: [200, 0],
          parameters: { operation: 'deleteUserData', userId: 'someone-else' },
          credentials: { ltstMemoryPostgresApi: { id: 'ltstMemoryCred01', name: 'LTST Memory' } },
        },
      ],
      connections: { Start: { main: [[{ node: 'Delete User Data', type: 'main', index: 0 }]] } },
      settings: { executionOrder: 'v1' },
    };
    n8n.importWorkflow(env, file('workflows.json', [loopWorkflow(gate.port), freeSession]));

    // Another user owns the loop's third session: Store Message's third run fails until that user is deleted.
    const store = openMemory(memory);
    await store.migrate();
    await store.storeMessage({ userId: 'someone-else', sessionId: 'loop-b', role: 'human', content: 'mine' });
    await closeAllMemory();

    const logFile = path.join(work, 'n8n.log'); // read the log when a step fails
    rest = new Rest(`http://127.0.0.1:${env.port}`);
    // n8n start once exited (code 1) before it was ready in a CI run, and passed on every other run:
    // it is started once more, and a second failure quotes the end of its log.
    for (let attempt = 1; ; attempt += 1) {
      child = n8n.startN8n(env, ['start'], { logFile }) as ChildProcess;
      let ready = false;
      for (let i = 0; child.exitCode === null && i <= 600 && !ready; i += 1) {
        ready = (await rest.call('GET', '/healthz/readiness').catch(() => ({ status: 0 }))).status === 200;
        if (!ready) await new Promise((resolve) => setTimeout(resolve, 500));
      }
      if (ready) break;
      const failure = `n8n start did not become ready (exit ${child.exitCode}); its log ended:\n${fs.readFileSync(logFile, 'utf8').split('\n').slice(-30).join('\n')}`;
      await n8n.stopN8n(child, 5_000);
      if (attempt === 2) throw new Error(failure);
      console.warn(`${failure}\nStarting it again.`);
    }
    await rest.ok('POST', '/rest/owner/setup', { email: 'owner@ltst.example', firstName: 'Ltst', lastName: 'Owner', password: 'Ltst-retry-2026' });
  }, 400_000);

  afterAll(async () => {
    if (child) await n8n.stopN8n(child, 30_000);
    await gate?.close();
    await closeAllMemory();
    env?.dispose();
    fs.rmSync(work, { recursive: true, force: true });
  }, 60_000);

  it('re-runs only what failed, under the first execution\'s keys: three messages after two retries, none stored twice', async () => {
    const first = await rest.run('ltstStoreLoop001');
    expect(first.status).toBe('error'); // Store Message's third run: FORBIDDEN

    expect((await rest.run('ltstFreeSession1')).status).toBe('success');
    gate.failOnce.add('third');
    const retry1 = await rest.ok('POST', `/rest/executions/${first.id}/retry`, { loadWorkflow: false });
    expect(retry1).toMatchObject({ retryOf: first.id, status: 'error' }); // the Gate, once
    expect(retry1.id).not.toBe(first.id);
    const storeRuns = (data: Json) => data.resultData.runData['Store Message'].map((r: Json) => r.data?.main[0].map((i: Json) => [i.json.content, i.json.duplicate]));
    // Runs 0 and 1 are the first execution's output, not run again; run 2 ran again, now stored.
    expect(storeRuns(retry1.data)).toEqual([[['first', false]], [['second', false]], [['third', false]]]);
    expect(retry1.data.resultData.metadata).toMatchObject({ ltst_first_execution: first.id });

    const retry2 = await rest.ok('POST', `/rest/executions/${retry1.id}/retry`, { loadWorkflow: false });
    expect(retry2).toMatchObject({ retryOf: retry1.id, status: 'success' });
    expect(storeRuns(retry2.data)).toEqual([[['first', false]], [['second', false]], [['third', false]]]);
    expect(gate.calls).toEqual(['first', 'second', 'third', 'third']);
    // A succeeded execution is not retried by n8n at all.
    expect((await rest.call('POST', `/rest/executions/${retry2.id}/retry`, { loadWorkflow: false })).status).toBe(409);

    await n8n.stopN8n(child, 60_000); // it holds the embedded folder
    const rows = await messageRows(memory, 'loop-user');
    expect(rows.map((r) => [r.session_id, r.content, r.idempotency_key])).toEqual([
      ['loop-a', 'first', `${first.id}:${STORE_NODE_ID}:0:0`],
      ['loop-a', 'second', `${first.id}:${STORE_NODE_ID}:1:0`],
      // Stored by the first retry (another execution id), under the key the failed attempt had.
      ['loop-b', 'third', `${first.id}:${STORE_NODE_ID}:2:0`],
    ]);
  }, 400_000);
});
