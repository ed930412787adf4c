import type { Database, Queryable } from '../db/database';
import { LtstError } from '../errors';
import { DEFAULT_DIMENSIONS, quoteIdentifier } from '../config';
import { bookkeepingSql, DIMENSIONS_KEY, MIGRATION_ADVISORY_LOCK_ID } from './bookkeeping';
import { latestVersion, loadMigrations, renderMigration, type Migration } from './migrations';
import { ensureVectorExtension, type VectorStatus } from './vector-extension';

/** Transition tables, CREATE OR REPLACE TRIGGER and generated columns need PostgreSQL 14. */
const MIN_SERVER_VERSION = 140000;

export interface SchemaTarget {
  /** The schema name as given (unquoted), for messages and catalog look-ups. */
  name: string;
  /** The same name validated and quoted, for SQL text. */
  quoted: string;
}

export interface MigrationReport {
  schema: string;
  /** Highest applied migration version. */
  version: number;
  /** Migrations this run applied, as `0001_core`. */
  applied: string[];
  /** Migrations waiting for pgvector. */
  waitingForVector: string[];
  dimensions: number;
  semanticSearch: boolean;
  vector: VectorStatus;
  warnings: string[];
}

export const migrationLabel = (m: Pick<Migration, 'version' | 'name'>) => `${String(m.version).padStart(4, '0')}_${m.name}`;

export const SEMANTIC_SEARCH_DISABLED =
  'pgvector is not installed in this database: semantic search is disabled (messages are stored without embeddings; full-text and recent-message retrieval still work). Install pgvector and run migrate again to enable it.';

async function assertServerVersion(tx: Queryable): Promise<void> {
  const { rows } = await tx.query<{ version: number }>(`SELECT current_setting('server_version_num')::int AS version`);
  if (rows[0].version < MIN_SERVER_VERSION) {
    throw new LtstError('SERVER_TOO_OLD', `PostgreSQL ${rows[0].version} is too old for LTST memory`, {
      hint: 'Use PostgreSQL 14 or newer.',
    });
  }
}

async function ensureSchema(tx: Queryable, target: SchemaTarget): Promise<void> {
  // Test first: CREATE SCHEMA IF NOT EXISTS still needs CREATE on the database, which a role
  // installing into an existing schema (public) often lacks.
  const { rows } = await tx.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [target.name]);
  if (rows.length === 0) await tx.exec(`CREATE SCHEMA ${target.quoted}`);
  await tx.exec(bookkeepingSql(target.quoted));
}

/** The applied versions, refusing a schema newer than this code or a migration edited after it ran. */
async function readApplied(tx: Queryable, target: SchemaTarget): Promise<Set<number>> {
  const { rows } = await tx.query<{ version: number; checksum: string }>(
    `SELECT version, checksum FROM ${target.quoted}.ltst_schema_migrations ORDER BY version`,
  );
  const known = new Map(loadMigrations().map((m) => [m.version, m]));
  for (const row of rows) {
    const migration = known.get(row.version);
    if (!migration) {
      throw new LtstError('SCHEMA_TOO_NEW', `Schema "${target.name}" is at version ${rows[rows.length - 1].version}, newer than this package knows (${latestVersion()})`, {
        hint: 'Upgrade n8n-nodes-ltst-memory on every n8n instance that uses this database.',
      });
    }
    if (migration.checksum !== row.checksum) {
      throw new LtstError('MIGRATION_CHECKSUM_MISMATCH', `Migration ${migrationLabel(migration)} in schema "${target.name}" was applied from different SQL than this package ships`, {
        hint: 'Reinstall the package version that created this schema, or restore the migration file.',
      });
    }
  }
  return new Set(rows.map((row) => row.version));
}

/** The dimension fixed at install; a different requested dimension is an error, never a silent change. */
async function settleDimensions(tx: Queryable, target: SchemaTarget, requested: number | undefined): Promise<number> {
  await tx.query(
    `INSERT INTO ${target.quoted}.ltst_meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING`,
    [DIMENSIONS_KEY, String(requested ?? DEFAULT_DIMENSIONS)],
  );
  const { rows } = await tx.query<{ value: string }>(`SELECT value FROM ${target.quoted}.ltst_meta WHERE key = $1`, [DIMENSIONS_KEY]);
  const recorded = Number(rows[0].value);
  if (requested !== undefined && requested !== recorded) {
    throw new LtstError('DIMENSION_MISMATCH', `Schema "${target.name}" stores ${recorded}-dimensional embeddings, but ${requested} were configured`, {
      hint: `Set the embedding dimension to ${recorded} (or use an embedding model with ${recorded} dimensions), or install into a new schema.`,
    });
  }
  return recorded;
}

/**
 * Brings the schema up to date in one transaction under an advisory lock: safe to run twice, and
 * safe when several processes start at once (the others wait, then find nothing left to do).
 */
export async function migrate(db: Database, target: SchemaTarget, requestedDimensions?: number): Promise<MigrationReport> {
  return db.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1::bigint)', [MIGRATION_ADVISORY_LOCK_ID]);
    await assertServerVersion(tx);
    await ensureSchema(tx, target);
    const applied = await readApplied(tx, target);
    const dimensions = await settleDimensions(tx, target, requestedDimensions);
    const publicExists = (await tx.query(`SELECT 1 FROM pg_namespace WHERE nspname = 'public'`)).rows.length > 0;
    const { status: vector, warning } = await ensureVectorExtension(tx, publicExists ? '"public"' : target.quoted);
    const warnings = warning ? [warning] : [];

    const report: MigrationReport = { schema: target.name, version: 0, applied: [], waitingForVector: [], dimensions, semanticSearch: false, vector, warnings };
    for (const migration of loadMigrations()) {
      if (applied.has(migration.version)) continue;
      if (migration.requiresVector && !vector.schema) {
        report.waitingForVector.push(migrationLabel(migration));
        continue;
      }
      const vectorSchema = vector.schema ? quoteIdentifier(vector.schema) : '';
      await tx.exec(renderMigration(migration, { schema: target.quoted, vectorSchema, dimensions }));
      await tx.query(`INSERT INTO ${target.quoted}.ltst_schema_migrations (version, name, checksum) VALUES ($1, $2, $3)`, [
        migration.version,
        migration.name,
        migration.checksum,
      ]);
      applied.add(migration.version);
      report.applied.push(migrationLabel(migration));
    }
    report.version = Math.max(0, ...applied);
    report.semanticSearch = report.waitingForVector.length === 0 && vector.schema !== undefined;
    if (!report.semanticSearch && !warning) warnings.push(SEMANTIC_SEARCH_DISABLED);
    return report;
  });
}
