import { closeAllMemory, openMemory } from '../../src';
import type { MemoryConfig } from '../../src/config';
import { dropSchema, ltstErrorOf, onDatabase, testTargets } from '../helpers/databases';
import { loadMigrations, renderMigration } from '../../src/schema/migrations';

/** Every object of a schema with its definition, to show a second run changed nothing. */
function catalogSnapshot(config: MemoryConfig) {
  return onDatabase(config, async (db) => {
    const { rows } = await db.query<{ entry: string }>(
      `SELECT c.relkind::text || ' ' || c.relname || ' ' || coalesce(pg_get_indexdef(c.oid), '') AS entry
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1
       UNION ALL SELECT 'function ' || p.proname || ' ' || md5(p.prosrc) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = $1
       UNION ALL SELECT 'trigger ' || pg_get_triggerdef(t.oid) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
         JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND NOT t.tgisinternal
       UNION ALL SELECT 'migration ' || version || ' ' || applied_at FROM "${config.schema}".ltst_schema_migrations
       ORDER BY 1`,
      [config.schema],
    );
    return rows.map((r) => r.entry);
  });
}

describe.each(testTargets(__filename))('migrator on $name', ({ config }) => {
  const other = { ...config, schema: `${config.schema}_b` };
  beforeEach(async () => {
    await dropSchema(config);
    await dropSchema(other);
  });
  afterAll(async () => {
    await dropSchema(config);
    await dropSchema(other);
    await closeAllMemory();
  });

  it('changes nothing when run a second time', async () => {
    const first = await openMemory(config).migrate();
    expect(first).toMatchObject({ version: 6, applied: ['0001_core', '0002_vector', '0003_memory_generation', '0004_event_lease', '0006_row_level_security'], warnings: [] });
    const before = await catalogSnapshot(config);
    const second = await openMemory(config).migrate();
    expect(second).toMatchObject({ version: 6, applied: [], semanticSearch: true });
    expect(await catalogSnapshot(config)).toEqual(before);
  });

  it('ends with one schema and no error when several migrators start at once', async () => {
    // On a server each call takes its own pooled connection: separate sessions racing, as separate processes would.
    const reports = await Promise.all(Array.from({ length: 6 }, () => openMemory(config).migrate()));
    expect(reports.flatMap((r) => r.applied).sort()).toEqual(['0001_core', '0002_vector', '0003_memory_generation', '0004_event_lease', '0006_row_level_security']);
    expect(reports.every((r) => r.version === 6)).toBe(true);
    const applied = await onDatabase(config, async (db) => (await db.query(`SELECT version FROM "${config.schema}".ltst_schema_migrations`)).rows);
    expect(applied).toHaveLength(loadMigrations().length);
    expect(await openMemory(config).health()).toMatchObject({ ok: true, missingObjects: [] });
  });

  it('refuses a database whose recorded version is newer than the code knows, and changes nothing', async () => {
    await openMemory(config).migrate();
    await onDatabase(config, (db) =>
      db.query(`INSERT INTO "${config.schema}".ltst_schema_migrations (version, name, checksum) VALUES (9999, 'future', $1)`, ['0'.repeat(64)]),
    );
    const error = await ltstErrorOf(openMemory(config).migrate());
    expect(error.code).toBe('SCHEMA_TOO_NEW');
    expect(error.message).toContain('version 9999');
    expect(error.hint).toMatch(/Upgrade/);
    expect((await openMemory(config).health()).warnings.join(' ')).toMatch(/newer than this package/);
  });

  it('refuses a migration whose SQL changed after it was applied', async () => {
    await openMemory(config).migrate();
    await onDatabase(config, (db) => db.query(`UPDATE "${config.schema}".ltst_schema_migrations SET checksum = $1 WHERE version = 1`, ['f'.repeat(64)]));
    expect((await ltstErrorOf(openMemory(config).migrate())).code).toBe('MIGRATION_CHECKSUM_MISMATCH');
  });

  it('fixes the embedding dimension at install and refuses a different one later', async () => {
    const report = await openMemory({ ...config, dimensions: 8 }).migrate();
    expect(report.dimensions).toBe(8);
    const type = await onDatabase(config, async (db) =>
      (await db.query<{ t: string }>(`SELECT format_type(atttypid, atttypmod) AS t FROM pg_attribute WHERE attrelid = to_regclass($1) AND attname = 'embedding'`, [`"${config.schema}".conversation_messages`])).rows[0].t,
    );
    expect(type).toBe('vector(8)');
    // Unset: the recorded dimension is used.
    expect((await openMemory(config).migrate()).dimensions).toBe(8);
    const error = await ltstErrorOf(openMemory({ ...config, dimensions: 384 }).migrate());
    expect(error.code).toBe('DIMENSION_MISMATCH');
    expect(error.message).toContain('stores 8-dimensional embeddings, but 384 were configured');
  });

  it('keeps schemas apart: two schemas in one database, each complete', async () => {
    await openMemory(config).migrate();
    await openMemory({ ...other, dimensions: 16 }).migrate();
    expect(await openMemory(config).health()).toMatchObject({ ok: true, dimensions: 384 });
    expect(await openMemory(other).health()).toMatchObject({ ok: true, dimensions: 16 });
  });

  it('upgrades a version-3 schema: events already processing get a 5-minute lease; the SQL runs twice harmlessly', async () => {
    await openMemory(config).migrate();
    const s = `"${config.schema}"`;
    const leaseOf = async () =>
      onDatabase(config, async (db) =>
        (await db.query<{ status: string; seconds: number | null }>(
          `SELECT status, round(extract(epoch FROM lease_expires_at - now()))::int AS seconds FROM ${s}.event_ledger ORDER BY event_id`,
        )).rows,
      );
    // The schema as version 3 left it, with one event claimed by a worker of that version.
    await onDatabase(config, (db) =>
      db.transaction(async (tx) => {
        await tx.exec(`DROP INDEX ${s}.idx_event_ledger_lease_expires;
          ALTER TABLE ${s}.event_ledger DROP COLUMN claimed_at, DROP COLUMN lease_expires_at, DROP COLUMN claim_token;
          DELETE FROM ${s}.ltst_schema_migrations WHERE version = 4;
          INSERT INTO ${s}.event_ledger (event_type, status) VALUES ('old', 'processing'), ('old', 'pending');`);
      }),
    );
    expect(await openMemory(config).migrate()).toMatchObject({ version: 6, applied: ['0004_event_lease'] });
    expect(await leaseOf()).toEqual([{ status: 'processing', seconds: 300 }, { status: 'pending', seconds: null }]);
    expect(await openMemory(config).health()).toMatchObject({ ok: true, missingObjects: [] });
    const lease = loadMigrations().find((m) => m.version === 4)!;
    await onDatabase(config, (db) => db.exec(renderMigration(lease, { schema: s, vectorSchema: '', dimensions: 384 })));
    expect(await leaseOf()).toEqual([{ status: 'processing', seconds: 300 }, { status: 'pending', seconds: null }]);
  });

  it('reports a schema that is not installed yet without writing anything', async () => {
    const report = await openMemory(config).health();
    expect(report).toMatchObject({ ok: false, installed: false, version: 0, pendingMigrations: ['0001_core', '0002_vector', '0003_memory_generation', '0004_event_lease', '0006_row_level_security'] });
    expect(report.warnings[0]).toMatch(/not installed in schema .* yet: run migrate/);
    const exists = await onDatabase(config, async (db) => (await db.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [config.schema])).rows.length);
    expect(exists).toBe(0);
  });
});

describe('configuration errors', () => {
  it.each(['Public', 'pg_catalog', 'a-b', 'x; DROP TABLE y', '', 'information_schema', 'a'.repeat(64)])('refuses the schema name %j', (schema) => {
    expect(() => openMemory({ embedded: {}, schema })).toThrow(expect.objectContaining({ code: 'INVALID_CONFIG', message: expect.stringContaining('schema name') }));
  });

  it.each([0, -1, 2001, 1.5, Number.NaN])('refuses the embedding dimension %p', (dimensions) => {
    expect(() => openMemory({ embedded: {}, dimensions })).toThrow(expect.objectContaining({ code: 'INVALID_CONFIG', hint: expect.stringContaining('1 to 2000') }));
  });
});
