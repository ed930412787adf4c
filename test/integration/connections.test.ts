import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { closeAllMemory, LtstError, openMemory, type MemoryConfig } from '../../src';
import { openDatabaseCount } from '../../src/db/registry';
import { serverUrl } from '../helpers/databases';

async function failure(config: MemoryConfig): Promise<LtstError> {
  const error = await openMemory(config).health().then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(LtstError);
  return error as LtstError;
}

afterEach(() => closeAllMemory());

describe('connection errors a user can act on', () => {
  it.each(['127.0.0.1', 'localhost'])('names host, port and database when nothing listens (%s)', async (host) => {
    const error = await failure({ host, port: 1, database: 'memory_db', user: 'n8n', password: 'secret-pw' });
    expect(error.code).toBe('CONNECTION_FAILED');
    expect(error.sqlState).toBe('ECONNREFUSED');
    expect(error.message).toBe(`Cannot connect to PostgreSQL at ${host}:1 (database "memory_db", user "n8n"): nothing is listening there`);
    expect(error.hint).toMatch(/host and port/);
    expect(`${error.message} ${error.hint}`).not.toContain('secret-pw');
  });

  (serverUrl ? it : it.skip)('says the database does not exist (SQLSTATE 3D000)', async () => {
    const url = new URL(serverUrl as string);
    url.pathname = '/no_such_database';
    const error = await failure({ connectionString: url.toString() });
    expect(error).toMatchObject({ code: 'CONNECTION_FAILED', sqlState: '3D000' });
    expect(error.message).toContain(`PostgreSQL at ${url.hostname}:${url.port} (database "no_such_database"`);
    expect(error.message).toContain('the database does not exist');
  });

  (serverUrl ? it : it.skip)('says the server refused the user (SQLSTATE 28000 or 28P01)', async () => {
    const url = new URL(serverUrl as string);
    url.username = 'no_such_role';
    const error = await failure({ connectionString: url.toString() });
    expect(error.code).toBe('CONNECTION_FAILED');
    expect(['28000', '28P01']).toContain(error.sqlState);
    expect(error.message).toContain('user "no_such_role"');
  });

  it('names the embedded folder that cannot be opened', async () => {
    const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'ltst-'));
    const file = path.join(folder, 'not-a-folder');
    fs.writeFileSync(file, 'x');
    try {
      const error = await failure({ embedded: { dataDir: file } });
      expect(error.code).toBe('CONNECTION_FAILED');
      expect(error.message).toContain(`Cannot connect to the embedded database (${file})`);
    } finally {
      fs.rmSync(folder, { recursive: true, force: true });
    }
  });
});

describe('the process-wide registry', () => {
  it('gives every store of one connection the same database', async () => {
    const config: MemoryConfig = { embedded: { dataDir: 'memory://shared' }, schema: 'ltst_t_registry' };
    await openMemory(config).migrate();
    await Promise.all([openMemory(config).health(), openMemory({ ...config, schema: 'ltst_t_registry_b' }).health()]);
    expect(openDatabaseCount()).toBe(1);
  });

  it('closes a connection left idle and opens it again on the next use', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ltst-idle-'));
    const config: MemoryConfig = { embedded: { dataDir }, schema: 'ltst_t_idle', idleTimeoutMs: 1_000 };
    const store = openMemory(config);
    await store.migrate();
    expect(openDatabaseCount()).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    expect(openDatabaseCount()).toBe(0);
    expect(await store.health()).toMatchObject({ ok: true, installed: true });
    await store.close();
    expect(openDatabaseCount()).toBe(0);
    fs.rmSync(dataDir, { recursive: true, force: true });
  });
});
