import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { closeAllMemory, type MemoryConfig } from '../../src';
import { dropSchema, serverUrl } from '../helpers/databases';

// The harness is plain CommonJS (it also runs outside jest).
// eslint-disable-next-line @typescript-eslint/no-require-imports
export const n8n = require('../../scripts/n8n-harness');

const ROOT = path.join(__dirname, '..', '..');

/** Where the workflows' `LTST Memory` credential points: the embedded database, or the test PostgreSQL server. */
export type MemoryTarget = 'embedded' | 'server';

/** Embedded always; the server with pgvector when LTST_TEST_DATABASE_URL is set (CI sets it). */
export const memoryTargets: MemoryTarget[] = serverUrl ? ['embedded', 'server'] : ['embedded'];

export interface N8nWithPackage {
  /** The database and schema of the `LTST Memory` credential, for reading rows with onDatabase. */
  memory: MemoryConfig & { schema: string };
  /** Imports an example workflow of examples/workflows and executes it; returns n8n's run data. */
  runExample(file: string): Run;
  /** Imports and executes a workflow given as an object. */
  runWorkflow(workflow: object): Run;
  /** Same, without blocking this process (for tests that serve something n8n calls, such as an embeddings API). */
  runWorkflowAsync(workflow: object, options?: { allowError?: boolean }): Promise<Run>;
  /** Imports more credentials (n8n's export format, data in clear). */
  importCredentials(credentials: object[]): void;
}

// n8n's run data, as `n8n execute --rawOutput` prints it.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Run = any;

/** The `LTST Memory` credential's data for the server of LTST_TEST_DATABASE_URL. */
function serverCredential(url: string, schema: string) {
  const { hostname, port, pathname, username, password } = new URL(url);
  return {
    connection: 'server',
    host: hostname,
    port: Number(port || 5432),
    database: decodeURIComponent(pathname.slice(1)),
    user: decodeURIComponent(username),
    password: decodeURIComponent(password),
    ssl: 'disable',
    schema,
  };
}

/**
 * A fresh n8n for a describe block: this package packed and installed the way the Community Nodes
 * panel installs it, and an `LTST Memory` credential (id ltstMemoryCred01, as the examples use) on
 * a new embedded database, or on a new schema of the test server.
 */
export function withN8n(target: MemoryTarget = 'embedded', name = 'e2e'): N8nWithPackage {
  let env: { dispose(): void; userFolder: string } | undefined;
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'ltst-e2e-'));
  const dataDir = path.join(work, 'memory');
  const schema = target === 'server' ? `ltst_e2e_${name}`.replace(/[^a-z0-9_]/g, '_') : 'public';
  const memory: N8nWithPackage['memory'] =
    target === 'server' ? { connectionString: serverUrl as string, schema } : { embedded: { dataDir }, schema };
  const data = target === 'server' ? serverCredential(serverUrl as string, schema) : { connection: 'embedded', dataDir };

  const importCredentials = (credentials: object[]) => {
    const file = path.join(work, 'credentials.json');
    fs.writeFileSync(file, JSON.stringify(credentials));
    n8n.importCredentials(env, file);
    fs.rmSync(file);
  };
  const writeWorkflow = (workflow: object) => {
    const file = path.join(work, 'workflow.json');
    fs.writeFileSync(file, JSON.stringify(workflow));
    return n8n.importWorkflow(env, file);
  };

  beforeAll(async () => {
    if (target === 'server') await dropSchema(memory);
    // Jest sets NODE_ENV=test, under which n8n's CLI prints nothing: run it as in production.
    env = await n8n.createEnv({ vars: { NODE_ENV: 'production' } });
    n8n.installFromSource(env, ROOT);
    importCredentials([{ id: 'ltstMemoryCred01', name: 'LTST Memory', type: 'ltstMemoryPostgresApi', data }]);
  }, 120_000);
  // The test reads the embedded folder after n8n ran; it lets go of it before the next n8n process opens it.
  afterEach(() => closeAllMemory());
  afterAll(async () => {
    if (target === 'server') await dropSchema(memory);
    await closeAllMemory();
    env?.dispose();
    fs.rmSync(work, { recursive: true, force: true });
  });
  const run = (file: string): Run => n8n.executeWorkflow(env, n8n.importWorkflow(env, file));
  return {
    memory,
    runExample: (file) => run(path.join(ROOT, 'examples', 'workflows', file)),
    runWorkflow: (workflow) => n8n.executeWorkflow(env, writeWorkflow(workflow)),
    runWorkflowAsync: (workflow, options = {}) => n8n.executeWorkflowAsync(env, writeWorkflow(workflow), options),
    importCredentials,
  };
}
