import { closeAllMemory, openMemory } from '../../src';
import type { MemoryConfig } from '../../src/config';
import { dropSchema, onDatabase, serverUrl, testTargets } from '../helpers/databases';
import { hashEmbedder } from '../helpers/hash-embedder';
import { statementsSentDuring } from '../helpers/sent-statements';

/**
 * The statements of a chat turn keep their plans on the connection (named prepared statements), and
 * a session that does not have them (a pooler in transaction mode hands the work to another server
 * connection) costs one retry, after which the store sends them unnamed.
 */
(serverUrl ? describe : describe.skip)('prepared statements on PostgreSQL', () => {
  const [{ config: base }] = testTargets(__filename).filter((t) => t.name === 'postgres');
  // One connection, so the test's DEALLOCATE reaches the session the store prepared its statements in.
  const config: MemoryConfig = { ...base, maxConnections: 1, embeddings: hashEmbedder() };

  beforeEach(async () => {
    await dropSchema(config);
    await openMemory(config).migrate();
  });
  afterAll(async () => {
    await dropSchema(config);
    await closeAllMemory();
  });

  /** The name of each statement with values sent during `work` (undefined: unnamed). */
  const namesSent = async (work: () => Promise<unknown>) => (await statementsSentDuring(work)).filter((s) => s.hasValues).map((s) => s.name);

  const turn = (content: string) => ({ userId: 'pia', sessionId: 'pia-1', role: 'human' as const, content });
  const retrieve = (store: ReturnType<typeof openMemory>) => store.retrieveContext({ userId: 'pia', sessionId: 'pia-1', query: 'tea in the morning', recentLimit: 0, useCache: false });

  it('names the statements of a retrieval and of an append; one the session lost is tried again, then none is named', async () => {
    const store = openMemory(config);
    await store.storeMessages([turn('green tea in the morning'), turn('coffee at noon')]);
    await retrieve(store);
    const named = await namesSent(() => retrieve(store));
    // The bundle's parts, the text and vector candidates, the ranked rows.
    expect(named).toEqual(Array(4).fill(expect.stringMatching(/^ltst_[0-9a-f]{24}$/)));

    // As a pooler in transaction mode does: the next statement runs where nothing was prepared.
    await onDatabase(config, (db) => db.exec('DEALLOCATE ALL'));
    let found: string[] = [];
    const names = await namesSent(async () => (found = (await retrieve(store)).relevantMessages.map((m) => m.content)));
    expect(found[0]).toBe('green tea in the morning');
    // The first named statement failed (26000), the transaction ran again with every statement unnamed.
    expect(names[0]).toMatch(/^ltst_/);
    expect(names.slice(1).every((name) => name === undefined)).toBe(true);

    // An append is unnamed from then on, and stored once.
    expect((await namesSent(() => store.storeMessages([turn('mint tea at night')]))).every((name) => name === undefined)).toBe(true);
    expect((await store.getMessages('pia', 'pia-1')).map((m) => m.content)).toEqual(['green tea in the morning', 'coffee at noon', 'mint tea at night']);
    await store.close();
    await closeAllMemory();
  });

  it('retries an append whose statement the session lost, storing it once', async () => {
    const store = openMemory(config);
    await store.storeMessages([turn('first')]);
    await store.storeMessages([turn('second')]); // prepares the append
    await onDatabase(config, (db) => db.exec('DEALLOCATE ALL'));
    const names = await namesSent(() => store.storeMessages([turn('third')]));
    expect(names).toEqual([expect.stringMatching(/^ltst_/), undefined]);
    expect((await store.getMessages('pia', 'pia-1')).map((m) => m.content)).toEqual(['first', 'second', 'third']);
    await store.close();
    await closeAllMemory();
  });

  it('names nothing with preparedStatements: false', async () => {
    const store = openMemory({ ...config, preparedStatements: false });
    await store.storeMessages([turn('green tea in the morning'), turn('coffee at noon')]);
    expect((await namesSent(() => retrieve(store))).every((name) => name === undefined)).toBe(true);
    await store.close();
    await closeAllMemory();
  });
});
