import { quoteIdentifier } from '../config';
import type { MemoryContext } from './context';

export interface SchemaInfo {
  /** Embedding dimension recorded at install. */
  dimensions: number;
  /** False when pgvector is missing: messages are stored without embeddings. */
  hasEmbedding: boolean;
  /** pgvector's schema, quoted, to qualify its type, functions and operators (empty without pgvector). */
  vectorSchema: string;
  /** The oid of pgvector's `vector` type, which a binary `vector[]` parameter names (0 without pgvector). */
  vectorOid: number;
}

const cache = new WeakMap<MemoryContext, Promise<SchemaInfo>>();

/** Read once per store: the install-time facts that validation needs. */
export function schemaInfo(ctx: MemoryContext): Promise<SchemaInfo> {
  let info = cache.get(ctx);
  if (!info) {
    info = ctx.run(async (db) => {
      const { rows } = await db.query<{ dimensions: string | null; has_embedding: boolean; vector_schema: string | null; vector_oid: string | null }>(
        `SELECT (SELECT value FROM ${ctx.schema}.ltst_meta WHERE key = 'embedding_dimensions') AS dimensions,
                (SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'vector') AS vector_schema,
                (SELECT t.oid::text FROM pg_extension e JOIN pg_type t ON t.typnamespace = e.extnamespace AND t.typname = 'vector' WHERE e.extname = 'vector') AS vector_oid,
                EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass($1) AND attname = 'embedding' AND NOT attisdropped) AS has_embedding`,
        [`${ctx.schema}.conversation_messages`],
      );
      const { dimensions, has_embedding, vector_schema, vector_oid } = rows[0];
      return { dimensions: Number(dimensions), hasEmbedding: has_embedding, vectorSchema: vector_schema ? quoteIdentifier(vector_schema) : '', vectorOid: Number(vector_oid ?? 0) };
    });
    info.catch(() => cache.delete(ctx));
    cache.set(ctx, info);
  }
  return info;
}

/** After a migration the facts may have changed (pgvector added): read them again next time. */
export function forgetSchemaInfo(ctx: MemoryContext): void {
  cache.delete(ctx);
}
