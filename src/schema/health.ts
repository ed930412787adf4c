import type { Database } from '../db/database';
import { DIMENSIONS_KEY } from './bookkeeping';
import { EXPECTED_FUNCTIONS, EXPECTED_INDEXES, EXPECTED_TABLES, EXPECTED_TRIGGERS, EXPECTED_VIEWS, VECTOR_INDEX } from './expected-objects';
import { latestVersion, loadMigrations } from './migrations';
import { migrationLabel, SEMANTIC_SEARCH_DISABLED, type SchemaTarget } from './migrator';
import { readRowSecurity, rowSecurityWarnings, type RowSecurityStatus } from './row-security';
import { readVectorStatus, type VectorStatus } from './vector-extension';

export interface HealthReport {
  /** True when the schema is installed, current and complete. */
  ok: boolean;
  driver: Database['kind'];
  serverVersion: string;
  schema: string;
  installed: boolean;
  version: number;
  latestVersion: number;
  pendingMigrations: string[];
  dimensions?: number;
  semanticSearch: boolean;
  vector: VectorStatus;
  /** Expected objects not found in pg_catalog, as `kind name`. */
  missingObjects: string[];
  /** Once installed: whether row-level security holds the role that user operations run as. */
  rowLevelSecurity?: RowSecurityStatus;
  warnings: string[];
}

async function catalogNames(db: Database, schema: string): Promise<Set<string>> {
  const { rows } = await db.query<{ entry: string }>(
    `SELECT CASE c.relkind WHEN 'i' THEN 'index ' WHEN 'v' THEN 'view ' ELSE 'table ' END || c.relname AS entry
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relkind IN ('r', 'p', 'v', 'i')
     UNION ALL
     SELECT 'function ' || p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = $1
     UNION ALL
     SELECT 'trigger ' || t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
       JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND NOT t.tgisinternal`,
    [schema],
  );
  return new Set(rows.map((row) => row.entry));
}

/** Reads the state of the schema from the catalog; writes nothing, so it is safe for a credential test. */
export async function health(db: Database, target: SchemaTarget): Promise<HealthReport> {
  const [{ rows: server }, vector, present] = await Promise.all([
    db.query<{ server_version: string }>('SHOW server_version'),
    readVectorStatus(db),
    catalogNames(db, target.name),
  ]);
  const report: HealthReport = {
    ok: false,
    driver: db.kind,
    serverVersion: server[0].server_version,
    schema: target.name,
    installed: present.has('table ltst_schema_migrations'),
    version: 0,
    latestVersion: latestVersion(),
    pendingMigrations: loadMigrations().map(migrationLabel),
    semanticSearch: false,
    vector,
    missingObjects: [],
    warnings: [],
  };
  if (!report.installed) {
    report.warnings.push(`LTST memory is not installed in schema "${target.name}" yet: run migrate.`);
    return report;
  }

  const [{ rows: applied }, { rows: meta }, { rows: column }, rowSecurity] = await Promise.all([
    db.query<{ version: number }>(`SELECT version FROM ${target.quoted}.ltst_schema_migrations`),
    db.query<{ value: string }>(`SELECT value FROM ${target.quoted}.ltst_meta WHERE key = $1`, [DIMENSIONS_KEY]),
    db.query<{ type: string }>(
      `SELECT format_type(a.atttypid, a.atttypmod) AS type FROM pg_attribute a
        WHERE a.attrelid = to_regclass($1) AND a.attname = 'embedding' AND NOT a.attisdropped`,
      [`${target.quoted}.conversation_messages`],
    ),
    readRowSecurity(db, target.name),
  ]);
  const appliedVersions = new Set(applied.map((row) => row.version));
  report.version = Math.max(0, ...appliedVersions);
  const pending = loadMigrations().filter((m) => !appliedVersions.has(m.version));
  report.pendingMigrations = pending.map(migrationLabel);
  // Without pgvector the vector migration cannot run: that is a disabled feature, not a broken schema.
  const blocking = pending.filter((m) => !m.requiresVector || vector.installedVersion !== undefined);
  report.dimensions = meta[0] ? Number(meta[0].value) : undefined;

  const expected = [
    ...EXPECTED_TABLES.map((name) => `table ${name}`),
    ...EXPECTED_VIEWS.map((name) => `view ${name}`),
    ...EXPECTED_FUNCTIONS.map((name) => `function ${name}`),
    ...EXPECTED_TRIGGERS.map((name) => `trigger ${name}`),
    ...EXPECTED_INDEXES.map((name) => `index ${name}`),
  ];
  report.missingObjects = expected.filter((entry) => !present.has(entry));

  const embeddingType = column[0]?.type;
  report.semanticSearch = embeddingType !== undefined && present.has(`index ${VECTOR_INDEX}`);
  if (!report.semanticSearch) report.warnings.push(SEMANTIC_SEARCH_DISABLED);
  if (!vector.installedVersion && vector.availableVersion) {
    report.warnings.push(`pgvector ${vector.availableVersion} is available on this server: a superuser can run CREATE EXTENSION vector in this database, then run migrate.`);
  }
  if (embeddingType && embeddingType !== `vector(${report.dimensions})`) {
    report.warnings.push(`The embedding column is ${embeddingType} but the schema records ${report.dimensions} dimensions.`);
  }
  report.rowLevelSecurity = rowSecurity;
  // Before its migration ran, the pending migration is the warning.
  const rowSecurityInstalled = pending.every((m) => m.name !== 'row_level_security');
  if (rowSecurityInstalled) report.warnings.push(...rowSecurityWarnings(rowSecurity));
  if (report.version > report.latestVersion) report.warnings.push(`Schema version ${report.version} is newer than this package (${report.latestVersion}): upgrade the package.`);
  else if (blocking.length > 0) report.warnings.push(`Pending migrations: ${blocking.map(migrationLabel).join(', ')}. Run migrate.`);

  const rowSecurityIntact = !rowSecurityInstalled || rowSecurity.unprotectedTables.length === 0;
  report.ok = report.missingObjects.length === 0 && blocking.length === 0 && report.version <= report.latestVersion && rowSecurityIntact;
  return report;
}
