import { DEFAULT_DIMENSIONS, quoteIdentifier, quoteSchema, validateDimensions } from '../config';
import { bookkeepingSql, DIMENSIONS_KEY, MIGRATION_ADVISORY_LOCK_ID } from '../schema/bookkeeping';
import { loadMigrations, renderMigration } from '../schema/migrations';
import { migrationLabel } from '../schema/migrator';

const literal = (value: string) => `'${value.replaceAll("'", "''")}'`;

/**
 * The whole migration as one script a DBA can review and apply with psql: the same SQL, lock and
 * bookkeeping rows that `migrate` uses, so the migrator later sees it as applied.
 */
export function renderMigrationScript(options: { schema: string; dimensions?: number; vectorSchema?: string | null }): string {
  const schema = quoteSchema(options.schema);
  const dimensions = validateDimensions(options.dimensions ?? DEFAULT_DIMENSIONS);
  const vectorSchema = options.vectorSchema === null ? null : quoteIdentifier(options.vectorSchema ?? 'public');
  const parts = [
    `-- n8n-nodes-ltst-memory schema for ${schema}, ${dimensions}-dimensional embeddings.`,
    'BEGIN;',
    `SELECT pg_advisory_xact_lock(${MIGRATION_ADVISORY_LOCK_ID});`,
    `CREATE SCHEMA IF NOT EXISTS ${schema};`,
    bookkeepingSql(schema),
    `INSERT INTO ${schema}.ltst_meta (key, value) VALUES (${literal(DIMENSIONS_KEY)}, ${literal(String(dimensions))}) ON CONFLICT (key) DO NOTHING;`,
  ];
  if (vectorSchema) parts.push(`CREATE EXTENSION IF NOT EXISTS vector WITH SCHEMA ${vectorSchema};`);
  for (const migration of loadMigrations()) {
    if (migration.requiresVector && !vectorSchema) continue;
    parts.push(
      `-- ${migrationLabel(migration)}`,
      renderMigration(migration, { schema, vectorSchema: vectorSchema ?? '', dimensions }),
      `INSERT INTO ${schema}.ltst_schema_migrations (version, name, checksum) VALUES (${migration.version}, ${literal(migration.name)}, ${literal(migration.checksum)}) ON CONFLICT (version) DO NOTHING;`,
    );
  }
  parts.push('COMMIT;', '');
  return parts.join('\n');
}
