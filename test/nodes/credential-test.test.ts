import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ICredentialTestFunctions } from 'n8n-workflow';
import { closeAllMemory, openMemory } from '../../src';
import { ltstMemoryConnectionTest } from '../../nodes/shared/credential-test';
import { serverUrl } from '../helpers/databases';

const test = (data: Record<string, unknown>) =>
  ltstMemoryConnectionTest.call({} as ICredentialTestFunctions, { id: 'c1', name: 'LTST Memory', type: 'ltstMemoryPostgresApi', data: data as never });

afterAll(() => closeAllMemory());

describe('the LTST Memory Postgres credential test', () => {
  it('reports an embedded folder that does not exist yet without creating it', async () => {
    const dataDir = path.join(os.tmpdir(), `ltst-credential-${process.pid}-none`);
    expect(await test({ connection: 'embedded', dataDir })).toEqual({ status: 'OK', message: `The embedded database will be created in ${dataDir} on first use.` });
    expect(fs.existsSync(dataDir)).toBe(false);
  });

  it('reports the server version, pgvector and the schema version of an installed embedded database', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ltst-credential-'));
    await openMemory({ embedded: { dataDir } }).migrate();
    await closeAllMemory();
    const result = await test({ connection: 'embedded', dataDir });
    expect(result).toEqual({ status: 'OK', message: expect.stringMatching(/^PostgreSQL 18\.\S+, pgvector 0\.8\.\d+, schema "public" at version 6\.$/) });
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
