import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

import { startFakeOpenAiServer } from '../helpers/fake-openai-server';

// The harness is plain CommonJS (it also runs outside jest).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const h = require('../../scripts/n8n-harness');

/**
 * `npm start` (scripts/start.js) against a real n8n 2.41.1, checked through n8n's REST API: the
 * owner signs up, the examples, the five node types and the Embedded credential are there, a
 * workflow runs, SIGTERM leaves nothing behind, and a second start re-imports without duplicates
 * while keeping the user's own workflow.
 */
const ROOT = path.join(__dirname, '..', '..');
const START_TIMEOUT_MS = 150_000;
const examples: { id: string; name: string; nodes: { credentials?: Record<string, { id: string }> }[] }[] = fs
  .readdirSync(path.join(ROOT, 'examples', 'workflows'))
  .filter((f) => f.endsWith('.json'))
  .map((f) => JSON.parse(fs.readFileSync(path.join(ROOT, 'examples', 'workflows', f), 'utf8')));
const CREDENTIAL_ID = 'ltstMemoryCred01';
const credentialType = 'ltstMemoryPostgresApi';
const NODE_TYPES = ['ltstStoreMessage', 'ltstRetrieveContext', 'ltstUpsertPreference', 'ltstLogEvent', 'ltstMemoryMaintenance'].map((n) => `n8n-nodes-ltst-memory.${n}`);
const OWNER = { email: 'owner@ltst.example', firstName: 'Ltst', lastName: 'Owner', password: 'Ltst-start-2026' };
const OWN_WORKFLOW = 'My own workflow (must survive restarts)';

interface Started {
  proc: ChildProcess;
  url: string;
  ms: number;
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Spawns scripts/start.js in its own process group and waits for the "ready at <url>" line. */
async function start(vars: Record<string, string>): Promise<Started> {
  const t0 = Date.now();
  const proc = spawn(process.execPath, [path.join(ROOT, 'scripts', 'start.js')], {
    cwd: ROOT,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...vars },
  });
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })));
  const deadline = Date.now() + START_TIMEOUT_MS;
  let done = false;
  void exited.then(() => (done = true));
  while (!done && Date.now() < deadline) {
    const m = /\[ltst start\] n8n with LTST Memory is ready at (http:\/\/\S+)/.exec(out);
    if (m) return { proc, url: m[1], ms: Date.now() - t0, output: () => out, exited };
    await sleep(250);
  }
  throw new Error(`scripts/start.js ${done ? 'exited' : 'timed out'} before printing the URL:\n${out.split('\n').slice(-40).join('\n')}`);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Pids of processes whose environment names this n8n user folder (n8n itself, its task runner). */
function processesOf(userFolder: string): number[] {
  const pids: number[] = [];
  for (const pid of fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      if (fs.readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').includes(`N8N_USER_FOLDER=${userFolder}`)) pids.push(Number(pid));
    } catch {
      /* gone, or not ours */
    }
  }
  return pids;
}

/** The process group of a pid (field 5 of /proc/<pid>/stat), or undefined once it is gone. */
function pgidOf(pid: number): number | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
  } catch {
    return undefined;
  }
}

/** Pids whose process group is one of `groups`. */
function membersOf(groups: number[]): number[] {
  const pids = fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d)).map(Number);
  return pids.filter((pid) => groups.includes(pgidOf(pid) ?? -1));
}

function portOpen(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, host);
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

class Api {
  cookie = '';
  constructor(readonly base: string) {}
  async call(method: string, route: string, body?: unknown): Promise<{ status: number; body: Json }> {
    const request = () =>
      fetch(this.base + route, {
        method,
        headers: { 'content-type': 'application/json', ...(this.cookie ? { cookie: this.cookie } : {}) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    // A reused keep-alive socket can be reset by the server closing it at that moment (n8n's event
    // loop is busy while it opens the embedded database): a GET is safe to send again, once.
    const res = await request().catch((error: Error & { cause?: { code?: string } }) => {
      if (method !== 'GET' || error.cause?.code !== 'ECONNRESET') throw error;
      return request();
    });
    const auth = res.headers.getSetCookie().find((c) => c.startsWith('n8n-auth='));
    if (auth) this.cookie = auth.split(';')[0];
    const text = await res.text();
    let parsed: Json = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      /* not JSON */
    }
    return { status: res.status, body: parsed };
  }
  /** The `data` of a 200 response; throws with the body otherwise. */
  async ok(method: string, route: string, body?: unknown): Promise<Json> {
    const r = await this.call(method, route, body);
    if (r.status !== 200) throw new Error(`${method} ${route}: HTTP ${r.status} ${JSON.stringify(r.body).slice(0, 500)}`);
    return r.body.data;
  }
  async login(): Promise<void> {
    await this.ok('POST', '/rest/login', { emailOrLdapLoginId: OWNER.email, password: OWNER.password });
  }
  async credentialTest(): Promise<{ status: string; message: string }> {
    const cred = await this.ok('GET', `/rest/credentials/${CREDENTIAL_ID}?includeData=true`);
    return this.ok('POST', '/rest/credentials/test', { credentials: { id: cred.id, name: cred.name, type: cred.type, data: cred.data } });
  }
}

describe('npm start (scripts/start.js) in a real n8n', () => {
  const userFolder = fs.mkdtempSync(path.join(os.tmpdir(), 'ltst-start-e2e-'));
  let vars: Record<string, string>;
  let port: number;
  let brokerPort: number;
  let run: Started;
  let api: Api;
  const groups = new Set<number>(); // n8n's process groups, to check and clean up
  const noteGroups = () => processesOf(userFolder).forEach((pid) => groups.add(pgidOf(pid) ?? pid));
  const timings: Record<string, number> = {};
  let stops = 0;

  beforeAll(async () => {
    [port, brokerPort] = await h.distinctFreePorts(2);
    vars = { LTST_N8N_USER_FOLDER: userFolder, LTST_N8N_PORT: String(port), LTST_N8N_BROKER_PORT: String(brokerPort) };
    run = await start(vars);
    timings.firstStartMs = run.ms;
    api = new Api(run.url);
  }, START_TIMEOUT_MS + 10_000);

  afterAll(async () => {
    noteGroups();
    if (run?.proc.pid) h.killGroup(run.proc.pid);
    for (const g of groups) h.killGroup(g);
    fs.rmSync(userFolder, { recursive: true, force: true });
    process.stdout.write(`[start.e2e] timings: ${JSON.stringify(timings)}\n`);
  });

  /** Sends SIGTERM to start.js and checks that it exits 0 and leaves no n8n, runner or port behind. */
  async function stopAndCheck(): Promise<void> {
    const t0 = Date.now();
    process.kill(run.proc.pid!, 'SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const tooLate = new Promise<string>((resolve) => (timer = setTimeout(() => resolve('still running after 60 s'), 60_000)));
    const result = await Promise.race([run.exited, tooLate]);
    clearTimeout(timer);
    expect(result).toEqual({ code: 0, signal: null });
    timings[`stop${++stops}Ms`] = Date.now() - t0;
    expect(run.output()).toContain('[ltst start] n8n stopped');
    expect(processesOf(userFolder)).toEqual([]);
    expect(membersOf([...groups, run.proc.pid!])).toEqual([]);
    expect(await portOpen(port)).toBe(false);
    expect(await portOpen(brokerPort)).toBe(false);
  }

  it('prints the URL on 127.0.0.1 and answers /healthz', async () => {
    expect(run.url).toBe(`http://127.0.0.1:${port}`);
    expect(run.output()).not.toMatch(/\[ltst start\] ERROR/);
    const health = await api.call('GET', '/healthz');
    expect(health).toEqual({ status: 200, body: { status: 'ok' } });
    expect(processesOf(userFolder).length).toBeGreaterThan(0); // n8n runs with the user folder we gave
    // Bound to loopback only: not reachable on the machine's other addresses.
    const external = Object.values(os.networkInterfaces()).flatMap((list) => (list ?? []).filter((a) => a.family === 'IPv4' && !a.internal));
    for (const a of external) expect(`${a.address}: ${await portOpen(port, a.address)}`).toBe(`${a.address}: false`);
    noteGroups();
  });

  it('lets the owner account be set up, and logs in', async () => {
    const owner = await api.ok('POST', '/rest/owner/setup', OWNER);
    expect(owner).toMatchObject({ email: OWNER.email, firstName: OWNER.firstName });
    api.cookie = '';
    await api.login();
    expect(api.cookie).toMatch(/^n8n-auth=./);
    expect(await api.ok('GET', '/rest/login')).toMatchObject({ email: OWNER.email });
  });

  it('lists the example workflows', async () => {
    const list: { id: string; name: string }[] = await api.ok('GET', '/rest/workflows');
    expect(examples).toHaveLength(4);
    for (const wf of examples) expect(list.filter((w) => w.name === wf.name).map((w) => w.id)).toEqual([wf.id]);
  });

  it('loads the five node types of the package', async () => {
    const r = await api.call('GET', '/types/nodes.json');
    expect(r.status).toBe(200);
    const names = new Set((r.body as { name: string }[]).map((t) => t.name));
    for (const type of NODE_TYPES) expect(names.has(type) ? type : `${type} missing`).toBe(type);
  });

  it('has the Embedded "LTST Memory" credential, ready on a database created while n8n started, whose test reports its facts', async () => {
    const creds: { id: string; name: string; type: string }[] = await api.ok('GET', '/rest/credentials');
    expect(creds.filter((c) => c.name === 'LTST Memory')).toEqual([expect.objectContaining({ id: CREDENTIAL_ID, type: credentialType })]);
    const cred = await api.ok('GET', `/rest/credentials/${CREDENTIAL_ID}?includeData=true`);
    expect(cred.data).toMatchObject({ connection: 'embedded', dataDir: path.join(userFolder, 'ltst-memory') });

    // npm start created the embedded database and installed its schema while n8n started, so the first run only opens it.
    expect(run.output()).toMatch(/\[ltst start\] embedded database ready in \S+ltst-memory \(\d+\.\d s\)/);
    expect(run.output().indexOf('embedded database ready')).toBeLessThan(run.output().indexOf('is ready at'));
    expect(await api.credentialTest()).toEqual({ status: 'OK', message: expect.stringMatching(/^PostgreSQL \d+\.\d+.*\(embedded, in .*ltst-memory\).*schema "public" at version \d+/) });

    // Run the maintenance example (a manual run, as the editor's "Execute workflow" button does).
    const maintenance = examples.find((w) => /maintenance/i.test(w.name))!;
    const started = await api.ok('POST', `/rest/workflows/${maintenance.id}/run`, { triggerToStartFrom: { name: 'Start' } });
    expect(started).toEqual({ executionId: expect.any(String) });
    let execution: Json;
    for (let i = 0; i < 240; i++) {
      execution = await api.ok('GET', `/rest/executions/${started.executionId}`);
      if (!['new', 'running', 'waiting'].includes(execution.status)) break;
      await sleep(250);
    }
    expect(execution.status).toBe('success');

    // Tested again after a run: the same facts.
    const tested = await api.credentialTest();
    expect(tested.status).toBe('OK');
    expect(tested.message).toMatch(/^PostgreSQL \d+\.\d+.*pgvector \d+\.\d+\.\d+.*schema "public" at version \d+/);
  }, 120_000);

  it("tests an LTST Embeddings credential by embedding a word: accepted with the right key, refused with a wrong one", async () => {
    const embeddingsApi = await startFakeOpenAiServer({ apiKey: 'sk-right', models: ['text-embedding-3-small'] });
    try {
      // Saved, tested as the editor's Retry button does, then deleted (the restart test counts credentials).
      const test = async (apiKey: string, model = 'text-embedding-3-small') => {
        const credential = { name: `Embeddings ${apiKey} ${model}`, type: 'ltstEmbeddingsApi', data: { apiKey, baseUrl: `${embeddingsApi.baseUrl}/`, model } };
        const { id } = await api.ok('POST', '/rest/credentials', credential);
        try {
          return await api.ok('POST', '/rest/credentials/test', { credentials: { id, ...credential } });
        } finally {
          await api.ok('DELETE', `/rest/credentials/${id}`);
        }
      };
      expect(await test('sk-right')).toMatchObject({ status: 'OK' });
      expect(embeddingsApi.requests.at(-1)).toMatchObject({ model: 'text-embedding-3-small', input: 'test', authorization: 'Bearer sk-right' });
      expect(await test('sk-wrong')).toMatchObject({ status: 'Error' });
      expect(await test('sk-right', 'no-such-model')).toMatchObject({ status: 'Error' });
    } finally {
      await embeddingsApi.close();
    }
  });

  it('keeps a workflow the user saves', async () => {
    const own = await api.ok('POST', '/rest/workflows', { name: OWN_WORKFLOW, nodes: [], connections: {} });
    expect(own).toMatchObject({ id: expect.any(String), name: OWN_WORKFLOW });
  });

  it('stops n8n on SIGTERM: exits 0, closes the ports, leaves no process', async () => {
    await stopAndCheck();
  }, 90_000);

  it('starts again in the same folder: examples and credential re-imported once, own data kept', async () => {
    run = await start(vars);
    timings.secondStartMs = run.ms;
    api = new Api(run.url);
    noteGroups();
    await api.login(); // the owner (and the encryption key) survived

    const list: { id: string; name: string }[] = await api.ok('GET', '/rest/workflows');
    for (const wf of examples) expect(list.filter((w) => w.name === wf.name).map((w) => w.id)).toEqual([wf.id]);
    expect(list.filter((w) => w.name === OWN_WORKFLOW)).toHaveLength(1);
    expect(list).toHaveLength(examples.length + 1);

    const creds: { id: string; name: string }[] = await api.ok('GET', '/rest/credentials');
    expect(creds.map((c) => c.id)).toEqual([CREDENTIAL_ID]);
    // Decrypts with the kept key, and the embedded database from the first run is still there.
    expect((await api.credentialTest()).message).toMatch(/^PostgreSQL .*schema "public" at version \d+/);

    await stopAndCheck();
  }, START_TIMEOUT_MS + 90_000);
});
