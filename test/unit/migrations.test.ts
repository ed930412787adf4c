import { renderMigrationScript } from '../../src/cli/render-sql';
import { loadMigrations, renderMigration } from '../../src/schema/migrations';
import { connectionError } from '../../src/db/connection-errors';

describe('migration files', () => {
  const migrations = loadMigrations();

  it('are numbered from 1 without gaps, and only the vector ones (the column, its index, the append function writing it) need pgvector', () => {
    expect(migrations.map((m) => m.version)).toEqual(migrations.map((_, i) => i + 1));
    expect(migrations.filter((m) => m.requiresVector).map((m) => m.name)).toEqual(['vector', 'append_messages', 'append_key_lookups', 'binary_vectors', 'vector_graph_index', 'append_session_lock']);
    expect(migrations.every((m) => /^[0-9a-f]{64}$/.test(m.checksum))).toBe(true);
  });

  it('render every placeholder, and qualify every object with the schema', () => {
    for (const migration of migrations) {
      const sql = renderMigration(migration, { schema: '"s1"', vectorSchema: '"ext"', dimensions: 7 });
      expect(sql).not.toMatch(/\{\{|\}\}/);
      // No unqualified CREATE: an object created outside the target schema would escape DROP SCHEMA and isolation.
      const unqualified = [...sql.matchAll(/CREATE (?:OR REPLACE )?(?:TABLE|VIEW|FUNCTION)(?: IF NOT EXISTS)? (\S+)/g)].filter(([, name]) => !name.startsWith('"s1".'));
      expect(unqualified).toEqual([]);
    }
    expect(renderMigration(migrations[1], { schema: '"s1"', vectorSchema: '"ext"', dimensions: 7 })).toContain('"ext".vector(7)');
  });

  it('print for a DBA with or without pgvector', () => {
    const withVector = renderMigrationScript({ schema: 'memory', dimensions: 1536 });
    expect(withVector).toMatch(/^-- n8n-nodes-ltst-memory schema for "memory", 1536-dimensional embeddings\.\nBEGIN;/);
    expect(withVector).toContain('CREATE EXTENSION IF NOT EXISTS vector WITH SCHEMA "public";');
    expect(withVector).toContain('"public".vector(1536)');
    expect(withVector.trimEnd().endsWith('COMMIT;')).toBe(true);
    const withoutVector = renderMigrationScript({ schema: 'memory', vectorSchema: null });
    expect(withoutVector).not.toMatch(/\.vector\(|CREATE EXTENSION|hnsw/);
    expect(() => renderMigrationScript({ schema: 'Memory' })).toThrow('Invalid schema name');
  });
});

describe('connection errors', () => {
  it('map SQLSTATE codes, not message text', () => {
    const error = connectionError({ description: 'PostgreSQL at db:5432' }, Object.assign(new Error('whatever the server says'), { code: '28P01' }));
    expect(error).toMatchObject({ code: 'CONNECTION_FAILED', sqlState: '28P01', message: 'Cannot connect to PostgreSQL at db:5432: the password was rejected' });
    const denied = connectionError({ description: 'x' }, Object.assign(new Error('no'), { code: '42501' }));
    expect(denied.code).toBe('PERMISSION_DENIED');
    const unknown = connectionError({ description: 'x' }, new Error('strange failure'));
    expect(unknown).toMatchObject({ code: 'CONNECTION_FAILED', sqlState: undefined, message: 'Cannot connect to x: strange failure' });
  });
});
