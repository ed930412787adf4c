import { openMemory } from '../../src';
import { onDatabase, testTargets, useFreshSchema } from '../helpers/databases';

/**
 * An exact vector search reads every vector of the user: kept in the message's row (migration
 * 0010), each is read with its row; moved to the TOAST table, as PostgreSQL does by default with
 * any row past 2 kB, each costs a lookup of its own.
 */
describe.each(testTargets(__filename))('embeddings on $name', ({ config }) => {
  useFreshSchema(config);

  it('stay in the message row, where a search reads them with it', async () => {
    const messages = Array.from({ length: 40 }, (_, i) => ({
      userId: 'ada',
      sessionId: 'ada-1',
      role: 'human' as const,
      // With this text and its terms, the row passes 2 kB once the 1.5 kB vector is in it.
      content: `Turn ${i}: ${Array.from({ length: 40 }, (_, w) => `word${(i * 40 + w).toString(36)}`).join(' ')}`,
      embedding: Array.from({ length: 384 }, (_, d) => Math.sin(i + d)),
    }));
    await openMemory(config).storeMessages(messages);
    const [row] = await onDatabase(config, async (db) =>
      (
        await db.query<{ row_bytes: string; toast_bytes: string }>(
          `SELECT (SELECT min(pg_column_size(m.*)) FROM "${config.schema}".conversation_messages m) AS row_bytes,
                  pg_relation_size(c.reltoastrelid) AS toast_bytes
             FROM pg_class c WHERE c.oid = '"${config.schema}".conversation_messages'::regclass`,
        )
      ).rows,
    );
    expect(Number(row.row_bytes)).toBeGreaterThan(2_048);
    // 40 vectors of 1.5 kB out of their rows would take at least 60 kB there.
    expect(Number(row.toast_bytes)).toBe(0);
  });
});
