import { openMemory, type MemoryConfig } from '../../src';
import { hashEmbedder } from '../helpers/hash-embedder';
import { ltstErrorOf, onDatabase, testTargets, useFreshSchema } from '../helpers/databases';

describe.each(testTargets(__filename))('documents are the store\'s configuration on $name', ({ config }) => {
  const embedder = hashEmbedder();
  const s = `"${config.schema}"`;
  const sql = (text: string, values: unknown[] = []) => onDatabase(config, (db) => db.query(text, values));
  const storeWith = (documents?: MemoryConfig['documents']) => openMemory({ ...config, embeddings: embedder, documents });
  const plain = storeWith();
  const insertDocuments = async (table: string, rows: Array<{ content: string; owner?: string }>) => {
    const vectors = await embedder.embed(rows.map((r) => r.content));
    for (const [i, row] of rows.entries()) {
      const withOwner = row.owner !== undefined;
      await sql(
        `INSERT INTO ${s}.${table} (content, embedding, metadata${withOwner ? ', owner_id' : ''}) VALUES ($1, $2::public.vector, $3${withOwner ? ', $4' : ''})`,
        [row.content, `[${vectors[i].join(',')}]`, { n: i }, ...(withOwner ? [row.owner] : [])],
      );
    }
  };

  useFreshSchema(config);
  beforeAll(async () => {
    await plain.storeMessage({ userId: 'alice', sessionId: 'alice-bank', role: 'human', content: 'my bank PIN is 4321, keep it secret' });
    await sql(`CREATE TABLE ${s}.shared_docs (id serial PRIMARY KEY, content text NOT NULL, embedding public.vector(384), metadata jsonb)`);
    await insertDocuments('shared_docs', [{ content: 'The bank opens at nine' }, { content: 'Trams run until midnight' }]);
    await sql(`CREATE TABLE ${s}.team_docs (id serial PRIMARY KEY, owner_id varchar(255) NOT NULL, content text NOT NULL, embedding public.vector(384), metadata jsonb)`);
    await insertDocuments('team_docs', [
      { content: 'alice bank statement for May', owner: 'alice' },
      { content: 'bob bank statement for May', owner: 'bob' },
    ]);
    await sql(`CREATE TABLE ${s}.no_vectors (id serial PRIMARY KEY, content text)`);
  });

  it("refuses a request naming a table: Bob cannot read Alice's messages as documents", async () => {
    for (const store of [plain, storeWith({ table: `${config.schema}.shared_docs` })]) {
      const error = await ltstErrorOf(store.retrieveContext({ userId: 'bob', query: 'bank PIN', includeDocuments: true, documentsTable: 'conversation_messages' } as never));
      expect(error).toMatchObject({ code: 'INVALID_INPUT', field: 'documentsTable', message: 'documentsTable is not a request option', hint: expect.stringContaining("documents.table in the store's configuration") });
    }
  });

  it('refuses includeDocuments on a store without a documents table, before any SQL', async () => {
    const error = await ltstErrorOf(plain.retrieveContext({ userId: 'bob', query: 'bank', includeDocuments: true }));
    expect(error).toMatchObject({ code: 'INVALID_INPUT', field: 'includeDocuments', hint: expect.stringContaining('Documents Table in the LTST Memory credential') });
    // Without documents the store answers as before.
    expect((await plain.retrieveContext({ userId: 'bob', query: 'bank', useCache: false })).documents).toEqual([]);
  });

  it.each([
    ['conversation_messages', "one of LTST's own tables"],
    ['other_schema.conversation_messages', "one of LTST's own tables"],
    [`${config.schema}.event_ledger`, "one of LTST's own tables"],
    ['Memory_Performance_Metrics', "one of LTST's own tables"],
    ['ltst_schema_migrations', "one of LTST's own tables"],
    ['ltst_user_state', "one of LTST's own tables"],
    ['session_summary', "one of LTST's own tables"],
    ['pg_catalog.pg_authid', "PostgreSQL's catalog schema"],
    ['information_schema.columns', "PostgreSQL's catalog schema"],
    ['pg_toast.anything', "PostgreSQL's catalog schema"],
    ['pg_shadow', 'PostgreSQL catalog table'],
    ['a.b.c', 'is not a table name'],
    ['docs; DROP TABLE x', 'is not a table name'],
    ['', 'has no table'],
  ])('refuses %s as the documents table when the store opens', (table, why) => {
    let thrown: unknown;
    try {
      storeWith({ table });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toMatchObject({ code: 'INVALID_CONFIG', field: 'documents.table', message: expect.stringContaining(why) });
  });

  it('refuses a user column that is no identifier when the store opens', () => {
    expect(() => storeWith({ table: 'team_docs', userColumn: 'owner_id = owner_id OR true' })).toThrow(expect.objectContaining({ code: 'INVALID_CONFIG', field: 'documents.userColumn' }));
  });

  it('refuses, at use, a documents table that is missing or lacks its columns', async () => {
    const cases: Array<[MemoryConfig['documents'], RegExp]> = [
      [{ table: `${config.schema}.missing_docs` }, /does not exist/],
      [{ table: `${config.schema}.no_vectors` }, /has no embedding column/],
      [{ table: `${config.schema}.team_docs`, userColumn: 'tenant' }, /has no tenant column/],
    ];
    for (const [documents, message] of cases) {
      const error = await ltstErrorOf(storeWith(documents).retrieveContext({ userId: 'bob', query: 'bank', includeDocuments: true, useCache: false }));
      expect(error).toMatchObject({ code: 'INVALID_CONFIG', field: 'documents.table', message: expect.stringMatching(message) });
    }
  });

  it("returns only the requesting user's documents when the table has a user column", async () => {
    const store = storeWith({ table: `${config.schema}.team_docs`, userColumn: 'owner_id' });
    const bob = await store.retrieveContext({ userId: 'bob', query: 'bank statement', includeDocuments: true, topDocuments: 5 });
    expect(bob.documents.map((d) => d.content)).toEqual(['bob bank statement for May']);
    const alice = await store.retrieveContext({ userId: 'alice', query: 'bank statement', includeDocuments: true, topDocuments: 5 });
    expect(alice.documents.map((d) => d.content)).toEqual(['alice bank statement for May']);
    expect((await store.retrieveContext({ userId: 'carol', query: 'bank statement', includeDocuments: true })).documents).toEqual([]);
    // A user id that looks like SQL is a value, never text of the query.
    expect((await store.retrieveContext({ userId: "x' OR '1'='1", query: 'bank statement', includeDocuments: true })).documents).toEqual([]);
  });

  it('shares the corpus with every user when the table has no user column, and caches per documents table', async () => {
    const shared = storeWith({ table: `${config.schema}.shared_docs` });
    for (const userId of ['alice', 'bob']) {
      const bundle = await shared.retrieveContext({ userId, query: 'when does the bank open', includeDocuments: true, topDocuments: 1 });
      expect(bundle.documents).toEqual([{ content: 'The bank opens at nine', metadata: { n: 0 }, similarity: expect.any(Number) }]);
      expect(bundle.relevantMessages.every((m) => m.userId === userId)).toBe(true);
    }
    expect((await shared.retrieveContext({ userId: 'alice', query: 'when does the bank open', includeDocuments: true, topDocuments: 1 })).stats.cacheHit).toBe(true);
    // The same request on a store of another documents table is not served from the first one's cache.
    const team = storeWith({ table: `${config.schema}.team_docs`, userColumn: 'owner_id' });
    const other = await team.retrieveContext({ userId: 'alice', query: 'when does the bank open', includeDocuments: true, topDocuments: 1 });
    expect(other.stats.cacheHit).toBe(false);
    expect(other.documents.map((d) => d.content)).toEqual(['alice bank statement for May']);
  });
});
