import { createHash } from 'node:crypto';
import { closeAllMemory, openMemory, type MemoryConfig } from '../../src';
import type { Database } from '../../src/db/database';
import { onDatabase, testTargets, useFreshSchema } from '../helpers/databases';

const sha = (text: string) => createHash('sha256').update(text).digest('hex');
/** A 384-dimension vector literal with the given leading components, zeros after. */
const vec = (...head: number[]) => `[${[...head, ...new Array(384 - head.length).fill(0)].join(',')}]`;

afterAll(() => closeAllMemory());

describe.each(testTargets(__filename))('session relationships on $name', ({ config }) => {
  const s = `"${config.schema}"`;
  const warnings: string[] = [];
  const store = openMemory({ ...config, memory: { onWarning: (message) => warnings.push(message) } });
  const run = <T>(work: (db: Database) => Promise<T>) => onDatabase(config, work);
  let index = 0;
  /** One message per embedding (null: a message without one) in `session` of `user`. */
  const messages = (user: string, session: string, embeddings: (string | null)[]) =>
    run(async (db) => {
      for (const embedding of embeddings) {
        await db.query(
          `INSERT INTO ${s}.conversation_messages (session_id, user_id, role, content, content_hash, message_index, embedding) VALUES ($1, $2, 'human', 'text', $3, $4, $5)`,
          [session, user, sha('text'), index++, embedding],
        );
      }
    });
  const links = () =>
    run(async (db) => (await db.query<{ source_session_id: string; target_session_id: string; relationship_type: string }>(`SELECT source_session_id, target_session_id, relationship_type FROM ${s}.session_relationships ORDER BY 1, 2, 3`)).rows);

  useFreshSchema(config);
  beforeAll(async () => {
    await run((db) =>
      db.query(
        `INSERT INTO ${s}.conversation_sessions (session_id, user_id) VALUES
           ('a', 'u1'), ('b', 'u1'), ('c', 'u1'), ('near', 'u1'), ('medium', 'u1'), ('far', 'u1'), ('bare', 'u1'), ('twin', 'u2'), ('x', 'u2')`,
      ),
    );
    await messages('u1', 'a', [vec(1), vec(1), null]);
    await messages('u1', 'near', [vec(1, 0.2), vec(1)]); // centroid (1, 0.1): similarity 1/sqrt(1.01)
    await messages('u1', 'medium', [vec(1, 1)]); // similarity 1/sqrt(2)
    await messages('u1', 'far', [vec(0, 1)]); // similarity 0
    await messages('u1', 'bare', [null]);
    await messages('u2', 'twin', [vec(1)]); // identical, but another user's
  });
  it('links two sessions and updates the link on a second call', async () => {
    const link = await store.linkSessions({ userId: 'u1', source: 'a', target: 'b', type: 'reference', similarity: 0.4, strength: 0.5, metadata: { why: 'test' } });
    expect(link).toMatchObject({ userId: 'u1', sourceSessionId: 'a', targetSessionId: 'b', relationshipType: 'reference', similarityScore: 0.4, relationshipStrength: 0.5, metadata: { why: 'test' } });
    expect(typeof link.relationshipId).toBe('number');
    expect(link.createdAt).toBeInstanceOf(Date);
    const again = await store.linkSessions({ userId: 'u1', source: 'a', target: 'b', type: 'reference', strength: 0.9, metadata: { more: 1 } });
    expect(again).toMatchObject({ relationshipId: link.relationshipId, similarityScore: 0.4, relationshipStrength: 0.9, metadata: { why: 'test', more: 1 } });
    const fork = await store.linkSessions({ userId: 'u1', source: 'a', target: 'b', type: 'fork' });
    expect(fork).toMatchObject({ similarityScore: 0, relationshipStrength: 0 });
    expect(fork.relationshipId).not.toBe(link.relationshipId);
  });

  it('lists links in both directions, strongest first, filtered by type', async () => {
    await store.linkSessions({ userId: 'u1', source: 'c', target: 'a', type: 'continuation', similarity: 0.2, strength: 0.6 });
    const related = await store.getRelatedSessions({ userId: 'u1', sessionId: 'a' });
    expect(related.map((r) => [r.relationshipType, r.relatedSessionId, r.direction])).toEqual([
      ['reference', 'b', 'outgoing'],
      ['continuation', 'c', 'incoming'],
      ['fork', 'b', 'outgoing'],
    ]);
    expect((await store.getRelatedSessions({ userId: 'u1', sessionId: 'c', types: ['continuation'] })).map((r) => r.relatedSessionId)).toEqual(['a']);
    expect(await store.getRelatedSessions({ userId: 'u1', sessionId: 'b', types: ['related'] })).toEqual([]);
    await expect(store.getRelatedSessions({ userId: 'u2', sessionId: 'a' })).rejects.toMatchObject({ code: 'FORBIDDEN' });
  });

  it('refuses links across users, to missing sessions, and to itself', async () => {
    const before = await links();
    await expect(store.linkSessions({ userId: 'u1', source: 'a', target: 'twin', type: 'related' })).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await expect(store.linkSessions({ userId: 'u2', source: 'a', target: 'twin', type: 'related' })).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await expect(store.linkSessions({ userId: 'u1', source: 'a', target: 'nope', type: 'related' })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(store.linkSessions({ userId: 'u1', source: 'a', target: 'a', type: 'related' })).rejects.toMatchObject({ code: 'INVALID_INPUT', field: 'target' });
    expect(await links()).toEqual(before);
  });

  it('refuses bad input naming the field', async () => {
    const bad: [() => Promise<unknown>, string][] = [
      [() => store.linkSessions({ userId: '', source: 'a', target: 'b', type: 'related' }), 'userId'],
      [() => store.linkSessions({ userId: 'u1', source: 'a', target: 'b', type: 'sibling' as 'related' }), 'type'],
      [() => store.linkSessions({ userId: 'u1', source: 'a', target: 'b', type: 'related', similarity: 1.5 }), 'similarity'],
      [() => store.linkSessions({ userId: 'u1', source: 'a', target: 'b', type: 'related', strength: Number.NaN }), 'strength'],
      [() => store.linkSessions({ userId: 'u1', source: 'a', target: 'b', type: 'related', metadata: [] as unknown as Record<string, unknown> }), 'metadata'],
      [() => store.getRelatedSessions({ userId: 'u1', sessionId: 'a', types: ['nope' as 'related'] }), 'types[0]'],
      [() => store.detectRelatedSessions({ userId: 'u1', sessionId: 'a', threshold: -0.1 }), 'threshold'],
      [() => store.detectRelatedSessions({ userId: 'u1', sessionId: 'a', limit: 0 }), 'limit'],
    ];
    for (const [call, field] of bad) await expect(call()).rejects.toMatchObject({ code: 'INVALID_INPUT', field });
  });

  it('detects related sessions from embedding centroids, within the user only', async () => {
    const found = await store.detectRelatedSessions({ userId: 'u1', sessionId: 'a' });
    expect(found.map((r) => r.targetSessionId)).toEqual(['near']);
    expect(found[0]).toMatchObject({ userId: 'u1', sourceSessionId: 'a', relationshipType: 'related' });
    expect(found[0].similarityScore).toBeCloseTo(1 / Math.sqrt(1.01), 5);
    expect(found[0].relationshipStrength).toBeCloseTo(1 / Math.sqrt(1.01), 5);

    const lower = await store.detectRelatedSessions({ userId: 'u1', sessionId: 'a', threshold: 0.5 });
    expect(lower.map((r) => r.targetSessionId)).toEqual(['near', 'medium']);
    expect(lower[1].similarityScore).toBeCloseTo(Math.SQRT1_2, 5);
    expect((await store.detectRelatedSessions({ userId: 'u1', sessionId: 'a', threshold: 0, limit: 1 })).map((r) => r.targetSessionId)).toEqual(['near']);

    const all = await store.detectRelatedSessions({ userId: 'u1', sessionId: 'a', threshold: 0, limit: 100 });
    expect(all.map((r) => r.targetSessionId)).toEqual(['near', 'medium', 'far']);
    expect(all[2].similarityScore).toBeCloseTo(0, 5);
    // Never another user's session (twin has identical embeddings), never one without embeddings.
    expect((await links()).filter((l) => l.relationship_type === 'related')).toEqual([
      { source_session_id: 'a', target_session_id: 'far', relationship_type: 'related' },
      { source_session_id: 'a', target_session_id: 'medium', relationship_type: 'related' },
      { source_session_id: 'a', target_session_id: 'near', relationship_type: 'related' },
    ]);
    // The other user sees only their own sessions: twin has no other session with embeddings.
    expect(await store.detectRelatedSessions({ userId: 'u2', sessionId: 'twin', threshold: 0 })).toEqual([]);
    await expect(store.detectRelatedSessions({ userId: 'u2', sessionId: 'a' })).rejects.toMatchObject({ code: 'FORBIDDEN' });
  });

  it('links nothing from a session without embeddings', async () => {
    expect(await store.detectRelatedSessions({ userId: 'u1', sessionId: 'bare', threshold: 0 })).toEqual([]);
    expect(warnings.filter((w) => w.includes('embedding'))).toEqual([]);
  });
});

describe('detectRelatedSessions without pgvector', () => {
  const config: MemoryConfig = { embedded: { dataDir: 'memory://relationships_novector', vector: false }, schema: 'ltst_t_relationships_novector' };
  const warnings: string[] = [];
  const store = openMemory({ ...config, memory: { onWarning: (message) => warnings.push(message) } });
  // Buffered metrics must be written before the databases close, or their timer reopens one.
  afterAll(() => store.flush());

  it('returns an empty list and warns instead of failing', async () => {
    await store.migrate();
    await onDatabase(config, (db) => db.query(`INSERT INTO "${config.schema}".conversation_sessions (session_id, user_id) VALUES ('a', 'u1'), ('b', 'u1')`));
    expect(await store.detectRelatedSessions({ userId: 'u1', sessionId: 'a' })).toEqual([]);
    expect(warnings).toEqual([expect.stringContaining('pgvector is not installed')]);
    expect(await store.linkSessions({ userId: 'u1', source: 'a', target: 'b', type: 'related', similarity: 0.3 })).toMatchObject({ similarityScore: 0.3 });
  });
});
