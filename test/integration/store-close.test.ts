import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { closeAllMemory, openMemory, type MemoryConfig, type MemoryStore } from '../../src';
import { LOCK_FILE_NAME } from '../../src/db/folder-lock';
import { openDatabaseCount } from '../../src/db/registry';
import { runCoreChild, stopChildren } from '../helpers/child-process';
import { dropSchema, onDatabase, serverUrl } from '../helpers/databases';

// A connection belongs to the stores using it: it closes when the last of them closes, after its work in flight.
jest.setTimeout(120_000);

const schema = 'ltst_t_store_close';
const APP = 'ltst_t_store_close';
const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'ltst-close-'));
afterAll(() => fs.rmSync(folder, { recursive: true, force: true }));

/** The server's sessions of this test's pool, by its application_name (other tests share the server). */
async function serverSessions(): Promise<number> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    for (let tries = 0; ; tries += 1) {
      const { rows } = await client.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1`, [APP]);
      // A closed client's backend leaves pg_stat_activity a moment after it hung up.
      if (rows[0].n === 0 || tries === 20) return rows[0].n;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  } finally {
    await client.end();
  }
}

const withAppName = (url: string) => {
  const named = new URL(url);
  named.searchParams.set('application_name', APP);
  return named.toString();
};

interface Target {
  name: string;
  config: MemoryConfig;
  /** Proof outside the registry that the connection is really closed. */
  reallyClosed(): Promise<boolean>;
}

const targets: Target[] = [
  {
    name: 'embedded folder',
    config: { embedded: { dataDir: folder }, schema, embeddings: { provider: 'none' } },
    reallyClosed: async () => !fs.existsSync(path.join(folder, LOCK_FILE_NAME)),
  },
];
if (serverUrl) {
  targets.push({
    name: 'server',
    config: { connectionString: withAppName(serverUrl), schema, embeddings: { provider: 'none' } },
    reallyClosed: async () => (await serverSessions()) === 0,
  });
}

const message = (sessionId: string, i: number) => ({ userId: 'u', sessionId, role: 'human' as const, content: `${sessionId} message ${i}` });
const storeMany = (store: MemoryStore, sessionId: string, count: number) => Array.from({ length: count }, (_, i) => store.storeMessages([message(sessionId, i)]));

describe.each(targets)('closing stores on one connection ($name)', ({ name, config, reallyClosed }) => {
  beforeAll(async () => {
    await dropSchema(config);
    await openMemory(config).migrate();
    await closeAllMemory();
  });
  afterEach(async () => {
    await stopChildren();
    await closeAllMemory();
  });
  afterAll(async () => {
    await dropSchema(config);
    await closeAllMemory();
  });

  it("lets the other store's operations in flight succeed, and keeps the connection open for it", async () => {
    const [a, b] = [openMemory(config), openMemory(config)];
    await Promise.all([a.health(), b.health()]);
    const inFlight = storeMany(b, 'in-flight', 20);
    const started = Date.now();
    await a.close();
    expect(await Promise.all(inFlight)).toHaveLength(20);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(openDatabaseCount()).toBe(1);
    expect(await b.getMessages('u', 'in-flight', { limit: 100 })).toHaveLength(20);

    await b.close();
    expect(openDatabaseCount()).toBe(0);
    expect(await reallyClosed()).toBe(true);
  });

  it('closes after the work in flight when the last user closes, and a second close does nothing', async () => {
    const stores = [openMemory(config), openMemory(config), openMemory(config)];
    await Promise.all(stores.map((store) => store.health()));
    await stores[0].close();
    await stores[0].close();
    await stores[1].close();
    expect(openDatabaseCount()).toBe(1); // the third store still uses it

    const inFlight = storeMany(stores[2], 'last-user', 10);
    const anonymous = onDatabase(config, (db) => db.query('SELECT count(*) FROM pg_class'));
    await stores[2].close();
    expect(await Promise.all(inFlight)).toHaveLength(10);
    await anonymous;
    expect(openDatabaseCount()).toBe(0);
    expect(await reallyClosed()).toBe(true);
  });

  it('reopens transparently for a store used after close(), which then needs another close()', async () => {
    const store = openMemory(config);
    await store.health();
    await store.close();
    expect(openDatabaseCount()).toBe(0);
    expect(await store.health()).toMatchObject({ ok: true, installed: true });
    expect(openDatabaseCount()).toBe(1);
    await store.close();
    expect(openDatabaseCount()).toBe(0);
  });

  it('closeAllMemory lets the work in flight finish, then closes everything', async () => {
    const store = openMemory(config);
    await store.health();
    const inFlight = storeMany(store, 'close-all', 10);
    await closeAllMemory();
    expect(await Promise.all(inFlight)).toHaveLength(10);
    expect(openDatabaseCount()).toBe(0);
    expect(await reallyClosed()).toBe(true);
  });

  it('settles every promise when many stores close at once (a script with top-level await exits 0)', async () => {
    // The child opens the same folder: this process has closed it (afterEach).
    const childConfig = name === 'server' ? { ...config, schema: `${schema}_child` } : config;
    try {
      const run = await runCoreChild('close-many', { config: childConfig, stores: 10 });
      expect(run).toMatchObject({ code: 0, first: { closed: 10, stored: 50, failed: [] } });
    } finally {
      if (name === 'server') await dropSchema(childConfig);
    }
  });

  (name === 'server' ? it : it.skip)('the idle timer never closes a connection with work in flight', async () => {
    const idle: MemoryConfig = { ...config, idleTimeoutMs: 1_000 };
    const slow = onDatabase(idle, (db) => db.query<{ done: boolean }>('SELECT true AS done FROM pg_sleep(3)'));
    expect((await slow).rows).toEqual([{ done: true }]);
    expect(openDatabaseCount()).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    expect(openDatabaseCount()).toBe(0);
    expect(await reallyClosed()).toBe(true);
  });
});
