import { binder, type Bind, type Queryable } from '../db/database';
import { invalidInput } from '../errors';
import { instrument, type MemoryContext } from './context';
import { schemaInfo } from './schema-info';
import { requireOwnedSession } from './ownership';
import { jsonObjectText } from './json-input';
import { requireId, requireOneOf, requireScore, requireWholeNumber } from './validation';
import { toDate } from './rows';

export const RELATIONSHIP_TYPES = ['continuation', 'related', 'fork', 'reference'] as const;
export type RelationshipType = (typeof RELATIONSHIP_TYPES)[number];

/** A directed link between two sessions of one user. */
export interface SessionRelationship {
  relationshipId: number;
  userId: string;
  sourceSessionId: string;
  targetSessionId: string;
  relationshipType: RelationshipType;
  similarityScore: number;
  relationshipStrength: number;
  metadata: Record<string, unknown>;
  createdAt: Date;
}

/** A link seen from one session: the other end and whether the link points away from it. */
export interface RelatedSession extends SessionRelationship {
  relatedSessionId: string;
  direction: 'outgoing' | 'incoming';
}

export interface LinkSessionsInput {
  userId: string;
  source: string;
  target: string;
  type: RelationshipType;
  /** 0 to 1; on a new link default 0, on an existing one the stored score is kept. */
  similarity?: number;
  /** 0 to 1; defaults like similarity. */
  strength?: number;
  /** Merged into the stored metadata. */
  metadata?: Record<string, unknown>;
}

export interface GetRelatedSessionsInput {
  userId: string;
  sessionId: string;
  types?: RelationshipType[];
}

export interface DetectRelatedSessionsInput {
  userId: string;
  sessionId: string;
  /** Smallest cosine similarity of the sessions' embedding centroids to link (default 0.8). */
  threshold?: number;
  /** Most links to make, best first (default 5, at most 100). */
  limit?: number;
}

export interface RelationshipRow {
  relationship_id: string | number | bigint;
  user_id: string;
  source_session_id: string;
  target_session_id: string;
  relationship_type: RelationshipType;
  similarity_score: number;
  relationship_strength: number;
  metadata: Record<string, unknown>;
  created_at: Date | string;
}

const MAX_DETECT = 100;
export const NO_VECTOR_WARNING =
  'detectRelatedSessions found no embedding column (pgvector is not installed in this database), so no sessions were linked. Install pgvector and run migrate again to enable it.';

const toRelationship = (row: RelationshipRow): SessionRelationship => ({
  relationshipId: Number(row.relationship_id),
  userId: row.user_id,
  sourceSessionId: row.source_session_id,
  targetSessionId: row.target_session_id,
  relationshipType: row.relationship_type,
  similarityScore: Number(row.similarity_score),
  relationshipStrength: Number(row.relationship_strength),
  metadata: row.metadata,
  createdAt: toDate(row.created_at),
});

/** The statement reading the session's links in both directions, strongest first (only `userId`'s). */
export function relatedSessionsSql(ctx: MemoryContext, bind: Bind, userId: string, sessionId: string, types?: string[]): string {
  const [session, typeValues] = [bind(sessionId), bind(types ?? null)];
  return `SELECT * FROM ${ctx.schema}.session_relationships
      WHERE user_id = ${bind(userId)} AND (source_session_id = ${session} OR target_session_id = ${session}) AND (${typeValues}::text[] IS NULL OR relationship_type = ANY(${typeValues}::text[]))
      ORDER BY relationship_strength DESC, similarity_score DESC, created_at DESC, relationship_id`;
}

/** A link of `sessionId` as seen from it: the session at its other end, and which way it points. */
export function toRelatedSession(row: RelationshipRow, sessionId: string): RelatedSession {
  const link = toRelationship(row);
  const outgoing = link.sourceSessionId === sessionId;
  return { ...link, relatedSessionId: outgoing ? link.targetSessionId : link.sourceSessionId, direction: outgoing ? 'outgoing' : 'incoming' };
}

/** The session's links in both directions, strongest first (only `userId`'s). */
export async function readRelatedSessions(db: Queryable, ctx: MemoryContext, userId: string, sessionId: string, types?: string[]): Promise<RelatedSession[]> {
  const values: unknown[] = [];
  const { rows } = await db.query<RelationshipRow>(relatedSessionsSql(ctx, binder(values), userId, sessionId, types), values);
  return rows.map((row) => toRelatedSession(row, sessionId));
}

export function relationshipOperations(ctx: MemoryContext) {
  const relationships = `${ctx.schema}.session_relationships`;
  const messages = `${ctx.schema}.conversation_messages`;

  return {
    /**
     * Links two sessions of `userId` (FORBIDDEN when either belongs to someone else, NOT_FOUND when
     * missing). Linking again with the same type updates the scores given and merges the metadata.
     */
    async linkSessions(input: LinkSessionsInput): Promise<SessionRelationship> {
      const userId = requireId('userId', input?.userId);
      const source = requireId('source', input.source);
      const target = requireId('target', input.target);
      const type = requireOneOf('type', input.type, RELATIONSHIP_TYPES);
      const similarity = input.similarity === undefined || input.similarity === null ? null : requireScore('similarity', input.similarity, 0);
      const strength = input.strength === undefined || input.strength === null ? null : requireScore('strength', input.strength, 0);
      const metadata = jsonObjectText('metadata', input.metadata, ctx.options.maxContentBytes);
      if (source === target) throw invalidInput('target', 'is the same session as source', 'Link two different sessions; a session cannot be related to itself.');
      return instrument(ctx, 'link_sessions', { userId, sessionId: source, parameters: { source, target, type, similarity, strength } }, () =>
        ctx.transaction(async (tx) => {
          await requireOwnedSession(tx, ctx, userId, source);
          await requireOwnedSession(tx, ctx, userId, target);
          const { rows } = await tx.query<RelationshipRow>(
            `INSERT INTO ${relationships} AS r
                    (user_id, source_session_id, target_session_id, relationship_type, similarity_score, relationship_strength, metadata)
             VALUES ($1, $2, $3, $4, COALESCE($5::float8, 0), COALESCE($6::float8, 0), $7::jsonb)
             ON CONFLICT (source_session_id, target_session_id, relationship_type) DO UPDATE
                SET similarity_score = COALESCE($5::float8, r.similarity_score),
                    relationship_strength = COALESCE($6::float8, r.relationship_strength),
                    metadata = r.metadata || EXCLUDED.metadata
             RETURNING *`,
            [userId, source, target, type, similarity, strength, metadata],
          );
          return toRelationship(rows[0]);
        }),
      );
    },

    /** The links from and to a session of `userId`, strongest first. */
    async getRelatedSessions(input: GetRelatedSessionsInput): Promise<RelatedSession[]> {
      const userId = requireId('userId', input?.userId);
      const sessionId = requireId('sessionId', input.sessionId);
      let types: RelationshipType[] | undefined;
      if (input.types !== undefined && input.types !== null) {
        if (!Array.isArray(input.types)) throw invalidInput('types', 'is not a list', `Pass a list of: ${RELATIONSHIP_TYPES.join(', ')}.`);
        types = input.types.map((type, index) => requireOneOf(`types[${index}]`, type, RELATIONSHIP_TYPES));
      }
      return instrument(
        ctx,
        'get_related_sessions',
        { userId, sessionId, parameters: { types } },
        () =>
          ctx.run(async (db) => {
            await requireOwnedSession(db, ctx, userId, sessionId);
            return readRelatedSessions(db, ctx, userId, sessionId, types);
          }),
        (links) => links.length,
      );
    },

    /**
     * Links the session as 'related' to the user's other sessions whose embedding centroid (the
     * average of their messages' embeddings) has cosine similarity >= threshold with its own.
     * Messages without an embedding are ignored, sessions without any are skipped. Without
     * pgvector it links nothing, returns [] and reports that to onWarning.
     */
    async detectRelatedSessions(input: DetectRelatedSessionsInput): Promise<SessionRelationship[]> {
      const userId = requireId('userId', input?.userId);
      const sessionId = requireId('sessionId', input.sessionId);
      const threshold = requireScore('threshold', input.threshold, 0.8);
      const limit = requireWholeNumber('limit', input.limit, 5, MAX_DETECT, 1);
      return instrument(
        ctx,
        'detect_related_sessions',
        { userId, sessionId, parameters: { threshold, limit } },
        async () => {
          // Read before the transaction: the embedded database runs one thing at a time.
          const { hasEmbedding, vectorSchema: vs } = await schemaInfo(ctx);
          return ctx.transaction(async (tx) => {
            await requireOwnedSession(tx, ctx, userId, sessionId);
            if (!hasEmbedding) {
              ctx.options.onWarning(NO_VECTOR_WARNING);
              return [];
            }
            const { rows } = await tx.query<RelationshipRow>(
              `WITH mine AS (
                 SELECT ${vs}.avg(embedding) AS centroid FROM ${messages} WHERE session_id = $1 AND embedding IS NOT NULL
               ), others AS (
                 SELECT session_id, ${vs}.avg(embedding) AS centroid FROM ${messages}
                  WHERE user_id = $2 AND session_id <> $1 AND embedding IS NOT NULL
                  GROUP BY session_id
               ), scored AS (
                 SELECT o.session_id, 1 - (o.centroid OPERATOR(${vs}.<=>) m.centroid) AS similarity
                   FROM others o CROSS JOIN mine m WHERE m.centroid IS NOT NULL
               ), picked AS (
                 SELECT session_id, least(greatest(similarity, 0), 1) AS similarity FROM scored
                  WHERE similarity <> 'NaN'::float8 AND similarity >= $3::float8
                  ORDER BY similarity DESC, session_id LIMIT $4
               )
               INSERT INTO ${relationships} AS r
                      (user_id, source_session_id, target_session_id, relationship_type, similarity_score, relationship_strength, metadata)
               SELECT $2, $1, session_id, 'related', similarity, similarity, $5::jsonb FROM picked
               ON CONFLICT (source_session_id, target_session_id, relationship_type) DO UPDATE
                  SET similarity_score = EXCLUDED.similarity_score,
                      relationship_strength = EXCLUDED.relationship_strength,
                      metadata = r.metadata || EXCLUDED.metadata
               RETURNING *`,
              [sessionId, userId, threshold, limit, JSON.stringify({ detectedBy: 'embedding_centroid', threshold })],
            );
            return rows.map(toRelationship).sort((a, b) => b.similarityScore - a.similarityScore || a.targetSessionId.localeCompare(b.targetSessionId));
          });
        },
        (links) => links.length,
      );
    },
  };
}
