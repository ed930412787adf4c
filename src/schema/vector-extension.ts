import type { Queryable } from '../db/database';
import { errorCode } from '../errors';

export interface VectorStatus {
  /** pgvector version installed in this database, if any. */
  installedVersion?: string;
  /** The schema holding pgvector's types and operators, if installed. */
  schema?: string;
  /** Version the server could install (pg_available_extensions), if any. */
  availableVersion?: string;
}

export async function readVectorStatus(db: Queryable): Promise<VectorStatus> {
  const { rows } = await db.query<{ installed_version: string | null; schema: string | null; available_version: string | null }>(
    `SELECT e.extversion AS installed_version, n.nspname AS schema,
            (SELECT default_version FROM pg_available_extensions WHERE name = 'vector') AS available_version
       FROM (SELECT 1) one
       LEFT JOIN pg_extension e ON e.extname = 'vector'
       LEFT JOIN pg_namespace n ON n.oid = e.extnamespace`,
  );
  const row = rows[0];
  return {
    installedVersion: row.installed_version ?? undefined,
    schema: row.schema ?? undefined,
    availableVersion: row.available_version ?? undefined,
  };
}

/**
 * Installs pgvector when the server offers it, inside the caller's transaction. A failure (the role
 * may not create extensions) is rolled back to a savepoint and returned as a warning, so the rest
 * of the schema still installs.
 */
export async function ensureVectorExtension(tx: Queryable, preferredSchema: string): Promise<{ status: VectorStatus; warning?: string }> {
  const before = await readVectorStatus(tx);
  if (before.installedVersion || !before.availableVersion) return { status: before };
  await tx.query('SAVEPOINT ltst_create_vector');
  try {
    await tx.exec(`CREATE EXTENSION IF NOT EXISTS vector WITH SCHEMA ${preferredSchema}`);
    await tx.query('RELEASE SAVEPOINT ltst_create_vector');
    return { status: await readVectorStatus(tx) };
  } catch (error) {
    await tx.query('ROLLBACK TO SAVEPOINT ltst_create_vector');
    const reason = errorCode(error) === '42501' ? 'this database user may not create it' : (error as Error).message;
    return {
      status: before,
      warning: `pgvector ${before.availableVersion} is available but could not be installed (${reason}). Ask a superuser to run CREATE EXTENSION vector in this database, then run migrate again.`,
    };
  }
}
