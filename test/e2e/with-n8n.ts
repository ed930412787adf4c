import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { closeAllMemory } from '../../src';

// The harness is plain CommonJS (it also runs outside jest).
// eslint-disable-next-line @typescript-eslint/no-require-imports
export const n8n = require('./n8n-harness');

const ROOT = path.join(__dirname, '..', '..');

export interface N8nWithPackage {
  /** The embedded database the workflows' `LTST Memory` credential points at. */
  dataDir: string;
  /** Imports an example workflow of examples/workflows and executes it; returns n8n's run data. */
  runExample(file: string): Run;
  /** Imports and executes a workflow given as an object. */
  runWorkflow(workflow: object): Run;
}

// n8n's run data, as `n8n execute --rawOutput` prints it.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Run = any;

/**
 * A fresh n8n for a describe block: this package packed and installed the way the Community Nodes
 * panel installs it, and an Embedded `LTST Memory` credential (id ltstMemoryCred01, as the examples use).
 */
export function withN8n(): N8nWithPackage {
  let env: { dispose(): void } | undefined;
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ltst-e2e-'));
  beforeAll(async () => {
    // Jest sets NODE_ENV=test, under which n8n's CLI prints nothing: run it as in production.
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
  const run = (file: string): Run => n8n.executeWorkflow(env, n8n.importWorkflow(env, file));
  return {
    dataDir,
    runExample: (file) => run(path.join(ROOT, 'examples', 'workflows', file)),
    runWorkflow: (workflow) => {
      const file = `${dataDir}-workflow.json`;
      fs.writeFileSync(file, JSON.stringify(workflow));
      try {
        return run(file);
      } finally {
        fs.rmSync(file, { force: true });
      }
    },
  };
}
