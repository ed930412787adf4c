/**
 * The migrator's own tables, created before any migration. `ltst_meta` records settings fixed at
 * install, such as the embedding dimension.
 */
export function bookkeepingSql(schema: string): string {
  return `
CREATE TABLE IF NOT EXISTS ${schema}.ltst_schema_migrations (
  version    integer PRIMARY KEY,
  name       text NOT NULL,
  checksum   char(64) NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS ${schema}.ltst_meta (
  key        text PRIMARY KEY,
  value      text NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);`;
}

/**
 * One lock for every LTST migrator on a database, whatever the schema: migrations are short, and
 * one lock also serialises CREATE EXTENSION, which is database-wide.
 */
export const MIGRATION_ADVISORY_LOCK_ID = '7315942112004412';

export const DIMENSIONS_KEY = 'embedding_dimensions';
