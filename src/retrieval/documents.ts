import { quoteIdentifier, type DocumentsConfig } from '../config';
import type { Queryable } from '../db/database';
import type { VectorParam } from '../db/vectors';
import { LtstError } from '../errors';
import { bookkeepingSql } from '../schema/bookkeeping';
import { EXPECTED_TABLES, EXPECTED_VIEWS } from '../schema/expected-objects';
import { loadMigrations } from '../schema/migrations';

/** The documents table of a store's configuration, validated and quoted once. */
export interface DocumentsSource {
  /** As configured, for messages. */
  table: string;
  /** `"schema"."table"` or `"table"`, ready for SQL. */
  quoted: string;
  /** The column holding each chunk's user id, quoted; null: a corpus shared by every user. */
  userColumn: string | null;
  userColumnName: string | null;
}

export interface DocumentChunk {
  content: string;
  metadata: Record<string, unknown>;
  similarity: number;
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;
const FIX = "Set documents.table in the store's configuration (in n8n: Documents Table in the LTST Memory credential)";

const isCatalogSchema = (schema: string) => /^pg_/i.test(schema) || schema.toLowerCase() === 'information_schema';

let ltstNames: Set<string> | undefined;

/** Every table and view LTST creates, whatever its schema: the expected objects and whatever the migrations' SQL creates. */
function ltstRelationNames(): Set<string> {
  if (ltstNames) return ltstNames;
  const sql = [bookkeepingSql('s'), ...loadMigrations().map((m) => m.template)].join('\n');
  const created = [...sql.matchAll(/CREATE\s+(?:OR\s+REPLACE\s+)?(?:UNLOGGED\s+|MATERIALIZED\s+)?(?:TABLE|VIEW)\s+(?:IF\s+NOT\s+EXISTS\s+)?(?:\S+\.)?"?([A-Za-z_][A-Za-z0-9_]*)/gi)];
  ltstNames = new Set([...EXPECTED_TABLES, ...EXPECTED_VIEWS, ...created.map((m) => m[1])].map((name) => name.toLowerCase()));
  return ltstNames;
}

function refused(table: string, why: string, hint: string): LtstError {
  return new LtstError('INVALID_CONFIG', `documents.table ${JSON.stringify(table)} ${why}`, { field: 'documents.table', hint });
}

/** The schema and table a documents table may be, or why not: LTST's own tables and PostgreSQL's catalogs are refused. */
function checkPlace(table: string, schema: string | undefined, name: string): void {
  if (schema !== undefined && isCatalogSchema(schema)) {
    throw refused(table, `is in PostgreSQL's catalog schema ${schema}`, 'Use a table of your own with content and embedding columns, such as document_chunks.');
  }
  if (/^pg_/i.test(name)) throw refused(table, 'names a PostgreSQL catalog table', 'Use a table of your own with content and embedding columns, such as document_chunks.');
  if (ltstRelationNames().has(name.toLowerCase())) {
    throw refused(table, "is one of LTST's own tables, which hold every user's memory", 'Use a separate table of shared documents (content, embedding, optional metadata and user column), such as document_chunks.');
  }
}

/** Validates the store's documents configuration before anything connects; undefined when it has none. */
export function documentsSource(config: DocumentsConfig | undefined): DocumentsSource | undefined {
  if (config === undefined || config === null) return undefined;
  if (typeof config !== 'object' || typeof config.table !== 'string' || config.table.trim() === '') {
    throw new LtstError('INVALID_CONFIG', 'documents has no table', { field: 'documents.table', hint: `${FIX}, or leave documents out.` });
  }
  const table = config.table.trim();
  const parts = table.split('.');
  if (parts.length > 2 || !parts.every((part) => IDENTIFIER.test(part))) {
    throw refused(table, 'is not a table name', 'Use table or schema.table: letters, digits and underscores, starting with a letter or underscore, at most 63 each.');
  }
  const [schema, name] = parts.length === 2 ? parts : [undefined, parts[0]];
  checkPlace(table, schema, name);
  const userColumn = config.userColumn === undefined || config.userColumn === null || config.userColumn === '' ? null : config.userColumn;
  if (userColumn !== null && (typeof userColumn !== 'string' || !IDENTIFIER.test(userColumn))) {
    throw new LtstError('INVALID_CONFIG', `documents.userColumn ${JSON.stringify(userColumn)} is not a column name`, {
      field: 'documents.userColumn',
      hint: 'Use a column name (letters, digits and underscores), or leave it empty for documents shared by every user.',
    });
  }
  return { table, quoted: parts.map(quoteIdentifier).join('.'), userColumn: userColumn && quoteIdentifier(userColumn), userColumnName: userColumn };
}

/**
 * Checks, at use, the table the name resolves to: it exists, is no catalog or LTST table (an
 * unqualified name follows the search path), and has content, embedding and the user column.
 */
async function checkTable(tx: Queryable, source: DocumentsSource): Promise<Set<string>> {
  const { rows } = await tx.query<{ schema: string; name: string; columns: string[] }>(
    `SELECT n.nspname AS schema, c.relname AS name, array_remove(array_agg(a.attname::text), NULL) AS columns
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
      WHERE c.oid = to_regclass($1)
      GROUP BY n.nspname, c.relname`,
    [source.quoted],
  );
  const found = rows[0];
  if (!found) throw refused(source.table, 'does not exist', `Create it (content text, embedding vector of the store's dimension, optional metadata jsonb), or correct documents.table.`);
  checkPlace(source.table, found.schema, found.name);
  const columns = new Set(found.columns);
  const missing = ['content', 'embedding', ...(source.userColumnName ? [source.userColumnName] : [])].filter((column) => !columns.has(column));
  if (missing.length > 0) {
    throw refused(source.table, `has no ${missing.join(' or ')} column`, `Documents need content and embedding columns${source.userColumnName ? ` and the user column ${source.userColumnName}` : ''}; correct documents.table or documents.userColumn.`);
  }
  return columns;
}

/**
 * The chunks nearest to the query embedding in the configured documents table. With a user column
 * only the requesting user's chunks are searched; without one the table is shared knowledge.
 */
export async function documentChunks(tx: Queryable, vectorSchema: string, source: DocumentsSource, userId: string, embedding: VectorParam | undefined, limit: number): Promise<DocumentChunk[]> {
  if (!embedding) return [];
  const columns = await checkTable(tx, source);
  // Compared as text: the user column may be uuid or integer; a text column keeps its index.
  const owner = source.userColumn ? `AND ${source.userColumn}::text = $3` : '';
  const { rows } = await tx.query<{ content: string; metadata: Record<string, unknown> | null; distance: number }>(
    `SELECT content, ${columns.has('metadata') ? 'metadata' : 'NULL::jsonb AS metadata'}, embedding OPERATOR(${vectorSchema}.<=>) $1::${vectorSchema}.vector AS distance
       FROM ${source.quoted} WHERE embedding IS NOT NULL ${owner}
      ORDER BY embedding OPERATOR(${vectorSchema}.<=>) $1::${vectorSchema}.vector LIMIT $2`,
    [embedding, limit, ...(source.userColumn ? [userId] : [])],
  );
  return rows.map((row) => ({ content: row.content, metadata: row.metadata ?? {}, similarity: 1 - Number(row.distance) }));
}
