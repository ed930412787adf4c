import { VectorListParam } from '../db/vectors';
import { LtstError } from '../errors';
import { instrument, type MemoryContext } from './context';
import { prepareEmbedding } from './message-input';
import { schemaInfo } from './schema-info';
import { optionalId, requireWholeNumber } from './validation';

export interface BackfillOptions {
  /** Messages embedded per round (default 100). */
  batchSize?: number;
  /** Only this user's messages (default: everyone's). */
  userId?: string;
  /** Stop after this many messages (default: all). */
  limit?: number;
}

export interface BackfillReport {
  embedded: number;
  /** Messages still without an embedding (of that user, when one was given). */
  remaining: number;
  embedder: string;
}

/**
 * Embeds messages stored without one (imported history, an embedder added later), oldest id first.
 * No lock is held while the embedder works: each round reads ids, embeds, then writes only rows
 * still empty, so an interrupted run resumes where it stopped and two runs never corrupt a row.
 */
export function backfillOperations(ctx: MemoryContext) {
  return {
    async backfillEmbeddings(options: BackfillOptions = {}): Promise<BackfillReport> {
      const batchSize = requireWholeNumber('batchSize', options.batchSize, 100, 10_000, 1);
      const userId = optionalId('userId', options.userId) ?? null;
      const limit = requireWholeNumber('limit', options.limit, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, 1);
      return instrument(ctx, 'backfill_embeddings', { userId: userId ?? undefined, parameters: { batchSize, limit } }, async () => {
        const info = await schemaInfo(ctx);
        const embedder = await ctx.embedder();
        if (!info.hasEmbedding || !embedder) {
          throw new LtstError('INVALID_CONFIG', info.hasEmbedding ? 'No embedding provider is configured' : 'Semantic search is disabled: pgvector is not installed', {
            hint: info.hasEmbedding ? 'Set embeddings to the local or an OpenAI-compatible provider.' : 'Install pgvector and run migrate, then backfill.',
          });
        }
        const table = `${ctx.schema}.conversation_messages`;
        let embedded = 0;
        for (let after = '0'; embedded < limit; ) {
          const { rows } = await ctx.run((db) =>
            db.query<{ id: string; content: string }>(
              `SELECT message_id::text AS id, content FROM ${table}
                WHERE embedding IS NULL AND message_id > $1::bigint AND ($2::text IS NULL OR user_id = $2::text)
                ORDER BY message_id LIMIT $3`,
              [after, userId, Math.min(batchSize, limit - embedded)],
            ),
          );
          if (rows.length === 0) break;
          const vectors = await embedder.embed(rows.map((row) => row.content));
          const { rowCount } = await ctx.run((db) =>
            db.query(
              `UPDATE ${table} m SET embedding = x.e
                 FROM unnest($1::bigint[], $2::${info.vectorSchema}.vector[]) AS x(id, e) WHERE m.message_id = x.id AND m.embedding IS NULL`,
              [rows.map((row) => row.id), new VectorListParam(vectors.map((vector) => prepareEmbedding(vector, info)), info.vectorOid)],
            ),
          );
          embedded += rowCount;
          after = rows[rows.length - 1].id;
        }
        const { rows } = await ctx.run((db) =>
          db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table} WHERE embedding IS NULL AND ($1::text IS NULL OR user_id = $1::text)`, [userId]),
        );
        return { embedded, remaining: rows[0].n, embedder: embedder.id };
      }, (report) => report.embedded);
    },
  };
}
