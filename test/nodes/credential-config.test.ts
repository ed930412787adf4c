import path from 'node:path';
import type { ICredentialTestFunctions, INode } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';
import { closeAllMemory, openMemory } from '../../src';
import { defaultDataDir, memoryConfigFromCredential, sslConfig } from '../../nodes/shared/credential-config';
import { ltstMemoryConnectionTest } from '../../nodes/shared/credential-test';
import { toNodeError } from '../../nodes/shared/node-errors';

const node: INode = { id: 'n1', name: 'Store Message', type: 'n8n-nodes-ltst-memory.ltstStoreMessage', typeVersion: 1, position: [0, 0], parameters: {} };

afterAll(() => closeAllMemory());

describe('credential to core configuration', () => {
  it('maps a server credential, leaving empty fields to the PG* variables', () => {
    expect(memoryConfigFromCredential({ connection: 'server', host: 'db', port: 6543, database: 'app', user: 'n8n', password: 's3cret', ssl: 'disable', maxConnections: 4, schema: 'memory', dimensions: 768 })).toEqual({
      host: 'db', port: 6543, database: 'app', user: 'n8n', password: 's3cret', ssl: false, maxConnections: 4, schema: 'memory', dimensions: 768,
    });
    expect(memoryConfigFromCredential({ connection: 'server', host: '', password: '' })).toMatchObject({ host: undefined, password: undefined });
  });

  it.each([
    ['disable', {}, false],
    ['allow', {}, false],
    ['require', {}, { rejectUnauthorized: false }],
    ['verify-full', { caCertificate: 'PEM' }, { rejectUnauthorized: true, ca: 'PEM' }],
    ['verify-full', { ignoreSslIssues: true }, { rejectUnauthorized: false, ca: undefined }],
  ] as const)('maps SSL mode %s', (ssl, extra, expected) => {
    expect(sslConfig({ ssl, ...extra })).toEqual(expected);
  });

  it('puts the embedded database in the n8n user folder unless a folder is given', () => {
    expect(defaultDataDir({ N8N_USER_FOLDER: '/data' })).toBe(path.join('/data', '.n8n', 'ltst-memory'));
    expect(memoryConfigFromCredential({ connection: 'embedded', dataDir: '/srv/memory', schema: 'public' })).toEqual({ embedded: { dataDir: '/srv/memory' }, schema: 'public', dimensions: undefined });
    expect(memoryConfigFromCredential({ connection: 'embedded' }, { N8N_USER_FOLDER: '/data' })).toMatchObject({ embedded: { dataDir: path.join('/data', '.n8n', 'ltst-memory') } });
  });
});

describe('the documents table comes from the credential', () => {
  it('maps the documents table and its user column, on a server and embedded', () => {
    expect(memoryConfigFromCredential({ connection: 'server', host: 'db', documentsTable: ' kb.document_chunks ', documentsUserColumn: 'owner_id' }).documents).toEqual({ table: 'kb.document_chunks', userColumn: 'owner_id' });
    expect(memoryConfigFromCredential({ connection: 'embedded', dataDir: '/srv/memory', documentsTable: 'document_chunks', documentsUserColumn: '' }).documents).toEqual({ table: 'document_chunks', userColumn: undefined });
    // No table: no documents, whatever the user column says.
    expect(memoryConfigFromCredential({ connection: 'server', documentsTable: '', documentsUserColumn: 'owner_id' }).documents).toBeUndefined();
  });

  it("refuses LTST's own tables and PostgreSQL's catalogs as documents, in the credential test too", async () => {
    for (const documentsTable of ['conversation_messages', 'memory.user_preferences', 'pg_catalog.pg_authid']) {
      const config = memoryConfigFromCredential({ connection: 'embedded', dataDir: '/nonexistent/ltst', documentsTable });
      expect(() => openMemory(config)).toThrow(expect.objectContaining({ code: 'INVALID_CONFIG', field: 'documents.table' }));
      const result = await ltstMemoryConnectionTest.call({} as ICredentialTestFunctions, { id: 'c1', name: 'LTST', type: 'ltstMemoryPostgresApi', data: { connection: 'embedded', dataDir: '/nonexistent/ltst', documentsTable } });
      expect(result).toEqual({ status: 'Error', message: expect.stringContaining(`documents.table "${documentsTable}"`) });
    }
  });
});

describe('errors as n8n shows them', () => {
  it('turns an unreachable server into a NodeOperationError for the item, naming host and port, with what to do', async () => {
    const config = memoryConfigFromCredential({ connection: 'server', host: '127.0.0.1', port: 1, database: 'memory', user: 'n8n', password: 'pw' });
    const failure = await openMemory(config).health().catch((error: unknown) => error);
    const error = toNodeError(node, failure, 3);
    expect(error).toBeInstanceOf(NodeOperationError);
    expect(error.message).toBe('Cannot connect to PostgreSQL at 127.0.0.1:1 (database "memory", user "n8n"): nothing is listening there');
    expect(error.description).toMatch(/^Check the host and port, .* \(code ECONNREFUSED\)$/);
    expect(error.context.itemIndex).toBe(3);
  });

  it('keeps PostgreSQL detail and hint for errors that are not the core\'s', () => {
    const pgError = Object.assign(new Error('duplicate key value violates unique constraint'), { code: '23505', detail: 'Key (x)=(1) already exists.' });
    expect(toNodeError(node, pgError, 0).description).toBe('Key (x)=(1) already exists. (code 23505)');
  });
});
