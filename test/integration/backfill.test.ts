import { openMemory } from '../../src';
import { hashEmbedder } from '../helpers/hash-embedder';
import { ltstErrorOf, onDatabase, testTargets, useFreshSchema } from '../helpers/databases';

describe.each(testTargets(__filename))('backfillEmbeddings on $name', ({ config }) => {
  const plain = openMemory(config);
  const embedding = openMemory({ ...config, embeddings: hashEmbedder() });
  const missing = async (userId: string) =>
    (await onDatabase(config, (db) => db.query<{ n: number }>(`SELECT count(*)::int AS n FROM "${config.schema}".conversation_messages WHERE user_id = $1 AND embedding IS NULL`, [userId]))).rows[0].n;

  useFreshSchema(config);
  beforeAll(async () => {
    for (const user of ['u1', 'u2']) {
      await plain.storeMessages(Array.from({ length: 25 }, (_, i) => ({ userId: user, sessionId: `${user}-s`, role: 'human' as const, content: `note ${i} about tea` })));
    }
  });

  it('embeds what has none, resumably, one user at a time if asked', async () => {
    expect(await embedding.backfillEmbeddings({ userId: 'u1', batchSize: 10, limit: 15 })).toMatchObject({ embedded: 15, remaining: 10, embedder: 'test:hash-384' });
    expect(await embedding.backfillEmbeddings({ userId: 'u1', batchSize: 10 })).toMatchObject({ embedded: 10, remaining: 0 });
    expect(await missing('u2')).toBe(25);
    expect(await embedding.backfillEmbeddings()).toMatchObject({ embedded: 25, remaining: 0 });
    expect(await embedding.backfillEmbeddings()).toMatchObject({ embedded: 0, remaining: 0 });
    const bundle = await embedding.retrieveContext({ userId: 'u2', query: 'note 3 about tea', recentLimit: 0, useCache: false });
    expect(bundle.relevantMessages[0].scores.vector).toBeGreaterThan(0.9);
  });

  it('says what is missing without an embedder', async () => {
    expect(await ltstErrorOf(plain.backfillEmbeddings())).toMatchObject({ code: 'INVALID_CONFIG', message: 'No embedding provider is configured' });
    expect(await ltstErrorOf(embedding.backfillEmbeddings({ batchSize: 0 }))).toMatchObject({ code: 'INVALID_INPUT', field: 'batchSize' });
  });
});
