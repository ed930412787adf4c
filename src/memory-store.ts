import { DEFAULT_SCHEMA, quoteSchema, validateDimensions, type MemoryConfig } from './config';
import type { Database } from './db/database';
import { closeDatabase, withDatabase } from './db/registry';
import { health, type HealthReport } from './schema/health';
import { migrate, type MigrationReport, type SchemaTarget } from './schema/migrator';

export interface MemoryStore {
  /** The schema this store reads and writes. */
  readonly schema: string;
  /** Installs or upgrades the schema; safe to call from many processes at once. */
  migrate(): Promise<MigrationReport>;
  /** Reads the schema state from the catalog without writing anything. */
  health(): Promise<HealthReport>;
  /** Closes this store's shared connection (other stores on it reopen it on their next call). */
  close(): Promise<void>;
}

/**
 * Opens the memory store for `config`. Nothing connects until the first operation; connections
 * come from the process-wide registry, so opening a store per n8n execution costs nothing.
 */
export function openMemory(config: MemoryConfig = { embedded: {} }): MemoryStore {
  const schemaName = config.schema ?? DEFAULT_SCHEMA;
  const target: SchemaTarget = { name: schemaName, quoted: quoteSchema(schemaName) };
  if (config.dimensions !== undefined) validateDimensions(config.dimensions);
  const run = <T>(work: (db: Database) => Promise<T>) => withDatabase(config, work);
  return {
    schema: schemaName,
    migrate: () => run((db) => migrate(db, target, config.dimensions)),
    health: () => run((db) => health(db, target)),
    close: () => closeDatabase(config),
  };
}
