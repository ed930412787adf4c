import { LtstError } from './errors';
import type { MemoryOptions } from './memory/context';
import type { Embedder } from './embeddings/embedder';
import type { EmbedderConfig } from './embeddings';

/** TLS settings handed to node-postgres as they are. */
export type SslConfig = boolean | { rejectUnauthorized?: boolean; ca?: string; cert?: string; key?: string };

/** A PostgreSQL server. Unset fields fall back to the PG* environment variables, as libpq does. */
export interface ServerConnectionConfig {
  connectionString?: string;
  host?: string;
  port?: number;
  database?: string;
  user?: string;
  password?: string;
  ssl?: SslConfig;
  /** Upper bound of this process's pool for this server (default 10). */
  maxConnections?: number;
  /**
   * Keep the plans of the statements every chat turn sends on each connection (named prepared
   * statements; default true): parsing and planning them was a third of a retrieval. Behind a pooler
   * that does not keep them (PgBouncer in transaction mode before 1.21) the store notices at the
   * first one lost, tries that work again and sends them unnamed from then on; false never names them.
   */
  preparedStatements?: boolean;
}

export interface EmbeddedConfig {
  /** A folder for the database files; omitted or `memory://<name>` keeps it in memory. */
  dataDir?: string;
  /** Load pgvector into the embedded database (default true). */
  vector?: boolean;
}

/**
 * The table Retrieve Context searches when a request sets `includeDocuments`: an operator's choice,
 * made once per store like the connection, never a request's.
 */
export interface DocumentsConfig {
  /**
   * `table` or `schema.table` (names as created, case kept), with columns `content` (text) and
   * `embedding` (a vector of the store's dimension), and optionally `metadata` (jsonb). LTST's
   * own tables (in any schema) and PostgreSQL's catalogs are refused.
   */
  table: string;
  /**
   * A column of that table holding the user id each chunk belongs to: a request then searches only
   * the chunks whose column equals its userId. Without it the table is a corpus shared by every
   * user of the store.
   */
  userColumn?: string;
}

export interface MemoryConfig extends ServerConnectionConfig {
  /** Use the embedded PGlite database instead of a server. */
  embedded?: EmbeddedConfig;
  /** The PostgreSQL schema holding every LTST object (default `public`). */
  schema?: string;
  /** Embedding dimension; fixed at install and checked afterwards (default 384). */
  dimensions?: number;
  /** Close the shared connection after this long unused, in ms (default 60 000). */
  idleTimeoutMs?: number;
  /** Limits and knobs of the memory operations (see MemoryOptions). */
  memory?: Partial<MemoryOptions>;
  /** How messages and queries are embedded: a provider config or an Embedder (default `{ provider: 'local' }`). */
  embeddings?: EmbedderConfig | Embedder;
  /** The documents table `includeDocuments` searches (default: none; a request asking for documents is then refused). */
  documents?: DocumentsConfig;
}

export const DEFAULT_SCHEMA = 'public';
export const DEFAULT_DIMENSIONS = 384;
/** HNSW indexes in pgvector accept at most 2000 dimensions for the `vector` type. */
export const MAX_DIMENSIONS = 2000;

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/** Validates a schema name and returns it quoted, ready to place in SQL. The one place identifiers are escaped. */
export function quoteSchema(schema: string): string {
  if (!SCHEMA_NAME.test(schema) || schema.startsWith('pg_') || schema === 'information_schema') {
    throw new LtstError('INVALID_CONFIG', `Invalid schema name "${schema}"`, {
      hint: 'Use 1-63 lowercase letters, digits or underscores, starting with a letter or underscore, not beginning with pg_.',
    });
  }
  return quoteIdentifier(schema);
}

/** Double-quotes an identifier, doubling embedded quotes (for names read from the catalog). */
export function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

export function validateDimensions(dimensions: number): number {
  if (!Number.isInteger(dimensions) || dimensions < 1 || dimensions > MAX_DIMENSIONS) {
    throw new LtstError('INVALID_CONFIG', `Invalid embedding dimension ${dimensions}`, {
      hint: `Use a whole number from 1 to ${MAX_DIMENSIONS} that matches your embedding model (384 for MiniLM, 1536 for text-embedding-3-small).`,
    });
  }
  return dimensions;
}
