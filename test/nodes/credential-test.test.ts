import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ICredentialTestFunctions } from 'n8n-workflow';
import { closeAllMemory, openMemory } from '../../src';
import { ltstMemoryConnectionTest } from '../../nodes/shared/credential-test';
import { serverUrl } from '../helpers/databases';
import { LATEST_VERSION } from '../helpers/migration-names';

const test = (data: Record<string, unknown>) =>
  ltstMemoryConnectionTest.call({} as ICredentialTestFunctions, { id: 'c1', name: 'LTST Memory', type: 'ltstMemoryPostgresApi', data: data as never });

afterAll(() => closeAllMemory());

describe('the LTST Memory Postgres credential test', () => {
  it('creates a new embedded database with its schema, so the first execution does not wait for it', async () => {
    const dataDir = path.join(os.tmpdir(), `ltst-credential-${process.pid}-new`);
    try {
      const result = await test({ connection: 'embedded', dataDir });
      expect(result).toEqual({
        status: 'OK',
        message: expect.stringMatching(new RegExp(`^PostgreSQL 18\\.\\S+ \\(embedded, in ${dataDir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\), pgvector 0\\.8\\.\\d+, schema "public" at version ${LATEST_VERSION}\\.$`)),
      });
      await closeAllMemory();
      expect(await openMemory({ embedded: { dataDir } }).health()).toMatchObject({ installed: true, version: LATEST_VERSION });
    } finally {
      await closeAllMemory();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('reports the server version, pgvector and the schema version of an installed embedded database', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ltst-credential-'));
    await openMemory({ embedded: { dataDir } }).migrate();
    await closeAllMemory();
    const result = await test({ connection: 'embedded', dataDir });
    expect(result).toEqual({ status: 'OK', message: expect.stringMatching(new RegExp(`^PostgreSQL 18\\.\\S+ \\(embedded, .*\\), pgvector 0\\.8\\.\\d+, schema "public" at version ${LATEST_VERSION}\\.$`)) });
    await closeAllMemory();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  (serverUrl ? it : it.skip)('says "not installed yet" for a schema the nodes have not installed, and writes nothing', async () => {
    const url = new URL(serverUrl as string);
    const result = await test({ connection: 'server', host: url.hostname, port: Number(url.port), database: url.pathname.slice(1), user: url.username, password: url.password, schema: 'ltst_t_never_installed' });
    expect(result.message).toMatch(/pgvector 0\.8\.\d+, schema "ltst_t_never_installed" not installed yet/);
    const store = openMemory({ connectionString: serverUrl, schema: 'ltst_t_never_installed' });
    expect((await store.health()).installed).toBe(false);
  });

  it('fails with what went wrong and what to do', async () => {
    const result = await test({ connection: 'server', host: '127.0.0.1', port: 1, database: 'memory', user: 'n8n' });
    expect(result).toEqual({ status: 'Error', message: expect.stringMatching(/^Cannot connect to PostgreSQL at 127\.0\.0\.1:1 .*nothing is listening there Check the host and port/) });
  });
});
