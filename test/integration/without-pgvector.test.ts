import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { closeAllMemory, openMemory, type MemoryConfig } from '../../src';
import { dropSchema, noVectorServerUrl, onDatabase } from '../helpers/databases';
import { VECTOR_ONLY, WITHOUT_VECTOR } from '../helpers/migration-names';

const schema = 'ltst_t_without_pgvector';

const embeddingColumn = (config: MemoryConfig) =>
  onDatabase(config, async (db) => (await db.query(`SELECT 1 FROM information_schema.columns WHERE table_schema = $1 AND table_name = 'conversation_messages' AND column_name = 'embedding'`, [schema])).rows.length);

afterAll(() => closeAllMemory());

describe('an embedded database without the vector extension', () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ltst-novector-'));
  const withoutVector: MemoryConfig = { embedded: { dataDir, vector: false }, schema };
  const withVector: MemoryConfig = { embedded: { dataDir }, schema };
  afterAll(() => fs.rmSync(dataDir, { recursive: true, force: true }));

  it('installs everything but the embedding column, and says semantic search is disabled', async () => {
    const report = await openMemory(withoutVector).migrate();
    expect(report).toMatchObject({ applied: WITHOUT_VECTOR, waitingForVector: VECTOR_ONLY, semanticSearch: false, vector: { installedVersion: undefined } });
    expect(report.warnings).toEqual([expect.stringContaining('semantic search is disabled')]);
    expect(await embeddingColumn(withoutVector)).toBe(0);
    const health = await openMemory(withoutVector).health();
    expect(health).toMatchObject({ ok: true, semanticSearch: false, missingObjects: [], pendingMigrations: VECTOR_ONLY });
    expect(health.warnings.join(' ')).toContain('Install pgvector and run migrate again');
    await onDatabase(withoutVector, (db) => db.query(`INSERT INTO "${schema}".conversation_sessions (session_id, user_id) VALUES ('kept', 'u1')`));
    await closeAllMemory(); // the next test opens the folder again, with the extension
  });

  it('adds the embedding column and its index by a later migrate once the extension exists', async () => {
    const report = await openMemory(withVector).migrate();
    expect(report).toMatchObject({ applied: VECTOR_ONLY, waitingForVector: [], semanticSearch: true, warnings: [] });
    expect(await embeddingColumn(withVector)).toBe(1);
    expect(await openMemory(withVector).health()).toMatchObject({ ok: true, semanticSearch: true, missingObjects: [], pendingMigrations: [] });
    const kept = await onDatabase(withVector, async (db) => (await db.query(`SELECT user_id FROM "${schema}".conversation_sessions WHERE session_id = 'kept'`)).rows);
    expect(kept).toEqual([{ user_id: 'u1' }]);
  });
});

(noVectorServerUrl ? describe : describe.skip)('a PostgreSQL server where this role may not create pgvector', () => {
  const config: MemoryConfig = { connectionString: noVectorServerUrl, schema };
  beforeAll(() => dropSchema(config));
  afterAll(() => dropSchema(config));

  it('installs the rest, and tells how to enable semantic search', async () => {
    const report = await openMemory(config).migrate();
    expect(report).toMatchObject({ applied: WITHOUT_VECTOR, waitingForVector: VECTOR_ONLY, semanticSearch: false });
    expect(report.warnings).toEqual([expect.stringMatching(/could not be installed .*may not create it.*CREATE EXTENSION vector/)]);
    expect(await embeddingColumn(config)).toBe(0);
    const health = await openMemory(config).health();
    expect(health).toMatchObject({ ok: true, semanticSearch: false, missingObjects: [] });
    expect(health.warnings.join(' ')).toMatch(/pgvector \S+ is available on this server: a superuser can run CREATE EXTENSION vector/);
  });
});
