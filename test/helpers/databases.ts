import path from 'node:path';
import type { MemoryConfig } from '../../src/config';
import { LtstError } from '../../src/errors';
import { closeAllMemory, openMemory } from '../../src/memory-store';
import { flushAllBuffers } from '../../src/memory/buffered-writer';
import type { Database } from '../../src/db/database';
import { withDatabase } from '../../src/db/registry';
import { asAllUsers } from '../../src/db/scope';

export interface TestTarget {
  name: 'pglite' | 'postgres';
  config: MemoryConfig;
}

/** The real PostgreSQL with pgvector, when CI (or you) set LTST_TEST_DATABASE_URL. */
export const serverUrl = process.env.LTST_TEST_DATABASE_URL;
/** A real PostgreSQL database without pgvector, for the no-extension path on a server. */
export const noVectorServerUrl = process.env.LTST_TEST_NOVECTOR_DATABASE_URL;

/**
 * Each test file gets its own schema (a non-default name, so the whole suite runs outside
 * `public`) on every database under test: the embedded PGlite always, a server when configured.
 */
export function testTargets(testFile: string): TestTarget[] {
  const base = path.basename(testFile).replace(/\.test\.ts$/, '').replace(/[^a-z0-9]+/gi, '_').toLowerCase();
  const schema = `ltst_t_${base}`.slice(0, 50);
  // No embedding model unless a test asks for one: the local model is tested on its own.
  const common = { schema, embeddings: { provider: 'none' } } as const;
  const targets: TestTarget[] = [{ name: 'pglite', config: { embedded: { dataDir: `memory://${base}` }, ...common } }];
  if (serverUrl) targets.push({ name: 'postgres', config: { connectionString: serverUrl, ...common } });
  return targets;
}

/** Runs `work` on the shared database of `config` for every user (as a DBA would), for assertions in SQL. */
export function onDatabase<T>(config: MemoryConfig, work: (db: Database) => Promise<T>): Promise<T> {
  return asAllUsers(() => withDatabase(config, work));
}

export async function dropSchema(config: MemoryConfig): Promise<void> {
  await onDatabase(config, (db) => db.exec(`DROP SCHEMA IF EXISTS "${config.schema}" CASCADE`));
}

/** The SQLSTATE a statement fails with (fails the test when it succeeds). */
export async function sqlStateOf(statement: Promise<unknown>): Promise<string> {
  try {
    await statement;
  } catch (error) {
    return (error as { code?: string }).code ?? `no SQLSTATE: ${(error as Error).message}`;
  }
  throw new Error('expected the statement to fail, but it succeeded');
}

/** The LtstError a call fails with (fails the test when it succeeds or throws something else). */
export async function ltstErrorOf(call: Promise<unknown>): Promise<LtstError> {
  try {
    await call;
  } catch (error) {
    expect(error).toBeInstanceOf(LtstError);
    return error as LtstError;
  }
  throw new Error('expected the call to fail, but it succeeded');
}

/** Gives a describe block a freshly migrated schema, and removes it (metrics written first) afterwards. */
export function useFreshSchema(config: MemoryConfig): void {
  beforeAll(async () => {
    await dropSchema(config);
    await openMemory(config).migrate();
  });
  afterAll(async () => {
    await flushAllBuffers();
    await dropSchema(config);
    await closeAllMemory();
  });
}
