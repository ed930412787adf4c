import { openMemory } from '../../src';
import { ltstErrorOf, onDatabase, testTargets, useFreshSchema } from '../helpers/databases';

/**
 * Embeddings reach PostgreSQL in its binary format (pgvector's receive function reads them), PGlite
 * as text: either way what is stored is each number as the 4-byte float pgvector keeps.
 */
const EDGES = [0.1, -1 / 3, Math.PI, 3.4e38, -3.4e38, 1.17549435e-38, 1e-45, 123456.789];
const vectorOf = (seed: number) => Array.from({ length: 384 }, (_, d) => (d < EDGES.length ? EDGES[d] * (seed % 2 ? -1 : 1) : Math.sin(seed * 384 + d)));

describe.each(testTargets(__filename))('embeddings on $name', ({ config }) => {
  useFreshSchema(config);

  const storedVectors = (sessionId: string) =>
    onDatabase(config, async (db) =>
      (
        await db.query<{ e: number[] | null }>(
          `SELECT embedding::real[] AS e FROM "${config.schema}".conversation_messages WHERE session_id = $1 ORDER BY message_index`,
          [sessionId],
        )
      // real[] prints each float in its shortest form, which reads back as that same float.
      ).rows.map((row) => row.e && row.e.map((x) => Math.fround(Number(x)))),
    );

  it('are stored as the 4-byte floats given, through a new session, an append and a batch with some messages without one', async () => {
    const store = openMemory(config);
    const turn = (i: number, embedding: number[] | null) => ({ userId: 'ada', sessionId: 'ada-1', role: 'human' as const, content: `turn ${i}`, embedding });
    // A new session takes the general path; the same session again, the one-statement append.
    await store.storeMessages([turn(0, vectorOf(0)), turn(1, null)]);
    await store.storeMessages([turn(2, null), turn(3, vectorOf(3)), turn(4, vectorOf(4))]);

    const expected = [vectorOf(0), null, null, vectorOf(3), vectorOf(4)].map((v) => v && Array.from(Float32Array.from(v)));
    expect(await storedVectors('ada-1')).toEqual(expected);
  });

  it('refuses a number beyond a 4-byte float, naming the message and its field, and writes nothing', async () => {
    const store = openMemory(config);
    const tooLarge = vectorOf(1);
    tooLarge[7] = 1e39;
    const error = await ltstErrorOf(
      store.storeMessages([
        { userId: 'ada', sessionId: 'ada-2', role: 'human', content: 'fine', embedding: vectorOf(0) },
        { userId: 'ada', sessionId: 'ada-2', role: 'ai', content: 'too large', embedding: tooLarge },
      ]),
    );
    expect(error).toMatchObject({ code: 'INVALID_INPUT', field: 'messages[1].embedding', itemIndex: 1 });
    expect(error.message).toContain('±3.4e38');
    expect(await storedVectors('ada-2')).toEqual([]);
  });
});
