// The baseline for issue 6: what an n8n 2.41.1 user runs today, driven through the very LangChain
// classes n8n ships (versions pinned to n8n-nodes-langchain's: community 1.1.27, core 1.2.8, classic 1.0.27).
//  - "Postgres Chat Memory" node  = PostgresChatMessageHistory wrapped in BufferWindowMemory.
//  - "Postgres PGVector Store" node = PGVectorStore (n8n's ExtendedPGVectorStore only re-quotes names and
//    rejects filter keys holding ' or \; the SQL is the base class's).
// We never write SQL of our own for reads or writes; only schema setup, the index drop and sizes are ours.
//
// Indexes LangChain leaves on the two tables (read back from pg_indexes by baseline-langchain-check.js):
//  - n8n_chat_histories: `id SERIAL PRIMARY KEY, session_id VARCHAR(255) NOT NULL, message JSONB NOT NULL`,
//    so only n8n_chat_histories_pkey (id). No index on session_id: every load reads the whole table (seq scan
//    + sort on `WHERE session_id = $1 ORDER BY id`), and it returns the session's entire history before
//    BufferWindowMemory keeps the last 2k messages in JavaScript.
//  - n8n_vectors: `id uuid PRIMARY KEY DEFAULT gen_random_uuid(), text text, metadata jsonb, embedding vector`,
//    so only n8n_vectors_pkey (id). No index on metadata, so the userId filter is a scan too. The embedding
//    column has no dimensions, because n8n's node never passes `dimensions` to initialize.
//    createHnswIndex() then adds embedding_embedding_hnsw_idx ON ((embedding::vector(N)) vector_cosine_ops),
//    an expression index that the search's `ORDER BY "embedding" <=> $1` can never use (the check script
//    asserts this from EXPLAIN with enable_seqscan off): n8n's vector search is always an exact scan.
//    With `typedColumn: true` we pass `dimensions` to initialize (LangChain's own option, not n8n's), the
//    column becomes vector(N), PostgreSQL folds the cast away and the same index becomes a plain HNSW index
//    on embedding that the search does use: the best a user could get out of PGVectorStore.
const fs = require('node:fs');
const pg = require('pg');
const { PostgresChatMessageHistory } = require('@langchain/community/stores/message/postgres');
const { PGVectorStore } = require('@langchain/community/vectorstores/pgvector');
const { BufferWindowMemory } = require('@langchain/classic/memory');
const { HumanMessage, AIMessage } = require('@langchain/core/messages');
const { Document } = require('@langchain/core/documents');

// n8n's defaults for both nodes.
const CHAT_TABLE = 'n8n_chat_histories';
const VECTOR_TABLE = 'n8n_vectors';
const COLUMNS = { idColumnName: 'id', vectorColumnName: 'embedding', contentColumnName: 'text', metadataColumnName: 'metadata' };
const HNSW_INDEX = 'embedding_embedding_hnsw_idx'; // the name PGVectorStore.createHnswIndex gives it (no namespace)

// We always pass precomputed vectors, so embedding time can never enter a measurement.
const noEmbeddings = {
  embedQuery: async () => { throw new Error('baseline: pass precomputed vectors, not text'); },
  embedDocuments: async () => { throw new Error('baseline: pass precomputed vectors, not text'); },
};

const versionOf = (name) => JSON.parse(fs.readFileSync(require.resolve(`${name}/package.json`), 'utf8')).version;

/** The LangChain packages measured. */
const langchainVersions = () => ({ community: versionOf('@langchain/community'), core: versionOf('@langchain/core'), classic: versionOf('@langchain/classic') });

/**
 * Opens the baseline in its own schema `schema` (created if missing) on `url`, using one pg.Pool (max 10).
 * typedColumn: create the embedding column as vector(dimensions) instead of n8n's untyped vector (see above).
 */
async function openBaseline({ url, schema, dimensions, typedColumn = false }) {
  // PGVectorStore pastes schemaName between double quotes without escaping, so keep it a plain identifier.
  if (!/^[a-z_][a-z0-9_]*$/.test(schema)) throw new Error(`baseline: unsafe schema name ${schema}`);
  if (!Number.isInteger(dimensions) || dimensions < 1) throw new Error('baseline: dimensions must be a positive integer');
  // allowExitOnIdle: idle connections never hold the process open, even if close() is forgotten.
  const pool = new pg.Pool({ connectionString: url, max: 10, allowExitOnIdle: true });
  const q = (name) => pg.escapeIdentifier(name);
  try {
    await pool.query(`CREATE SCHEMA IF NOT EXISTS ${q(schema)}`);

    // Chat history: PostgresChatMessageHistory has no schema option and pastes tableName verbatim into its
    // SQL, so we hand it the quoted, schema-qualified name. That is exactly what n8n's node does when a user
    // types "schema.table" (escapeQualifiedSqlIdentifier), and leaves LangChain's SQL unchanged; no
    // search_path tricks on the pool, which the vector store shares.
    const chatTable = `${q(schema)}.${q(CHAT_TABLE)}`;
    // n8n builds a new history per execution, so each execution also pays one `CREATE TABLE IF NOT EXISTS`
    // round trip. We create the table once here and keep one history per session, so the benchmark
    // measures the reads and writes, not that repeated DDL check.
    const sessions = new Map();
    const session = (sessionId) => {
      let s = sessions.get(sessionId);
      if (!s) {
        const chatHistory = new PostgresChatMessageHistory({ pool, sessionId, tableName: chatTable });
        s = { chatHistory, memories: new Map() };
        sessions.set(sessionId, s);
      }
      return s;
    };
    await new PostgresChatMessageHistory({ pool, sessionId: '-', tableName: chatTable }).ensureTable();
    // One BufferWindowMemory per session and k, as the node builds it.
    const windowMemory = (sessionId, k) => {
      const s = session(sessionId);
      let memory = s.memories.get(k);
      if (!memory) {
        memory = new BufferWindowMemory({ chatHistory: s.chatHistory, k, returnMessages: true, memoryKey: 'chat_history', inputKey: 'input', outputKey: 'output' });
        s.memories.set(k, memory);
      }
      return memory;
    };

    // Vectors: PGVectorStore 1.1.27 takes schemaName and quotes "schema"."table" itself. No collection, cosine,
    // no dimensions on the column: the options n8n's node passes with its defaults.
    const store = await PGVectorStore.initialize(noEmbeddings, {
      pool, schemaName: schema, tableName: VECTOR_TABLE, columns: COLUMNS, distanceStrategy: 'cosine',
      ...(typedColumn ? { dimensions } : {}),
    });
    // initialize() checks out a client it never queries through (all SQL goes through pool.query); n8n
    // releases it when the execution ends. Release it now so all 10 connections serve queries and
    // pool.end() does not wait on it.
    store.client?.release();
    store.client = undefined;

    const vectorTable = `${q(schema)}.${q(VECTOR_TABLE)}`;
    const indexExists = async () => (await pool.query('SELECT 1 FROM pg_indexes WHERE schemaname = $1 AND indexname = $2', [schema, HNSW_INDEX])).rowCount > 0;

    return {
      versions: langchainVersions(),
      pool, // for inspection only (EXPLAIN, catalog); the baseline's own reads and writes go through LangChain

      async addMessage(sessionId, role, content) {
        if (role !== 'human' && role !== 'ai') throw new Error(`baseline: role must be human or ai, not ${role}`);
        await session(sessionId).chatHistory.addMessage(role === 'human' ? new HumanMessage(content) : new AIMessage(content));
      },

      // n8n's node: memoryKey chat_history, returnMessages, inputKey input, outputKey output, k = contextWindowLength.
      async loadWindow(sessionId, k = 5) {
        const { chat_history: messages } = await windowMemory(sessionId, k).loadMemoryVariables({});
        return messages.map((m) => ({ role: m.getType(), content: m.content }));
      },

      // What n8n's agent does after the model answered: saveContext, i.e. addUserMessage then addAIMessage (two INSERTs).
      async saveTurn(sessionId, input, output, k = 5) {
        await windowMemory(sessionId, k).saveContext({ input }, { output });
      },

      // One addVectors call, as n8n's insert does with all its documents; LangChain splits it into INSERTs of 500 rows.
      async addVectors(rows) {
        const withIds = rows.filter((r) => r.id !== undefined).length;
        if (withIds !== 0 && withIds !== rows.length) throw new Error('baseline: give every row an id (uuid) or none');
        const docs = rows.map((r) => new Document({ pageContent: r.text, metadata: r.metadata }));
        await store.addVectors(rows.map((r) => r.vector), docs, withIds ? { ids: rows.map((r) => r.id) } : undefined);
      },

      // The filter n8n's node passes ({ userId } from its metadata filter) becomes `metadata->>'userId' = $3`.
      // score is LangChain's default (scoreNormalization 'distance'): cosine distance, lower is nearer.
      async search(vector, k, userId) {
        const results = await store.similaritySearchVectorWithScore(vector, k, { userId });
        return results.map(([doc, score]) => ({ text: doc.pageContent, metadata: doc.metadata, score }));
      },

      // LangChain's own index (cosine ops, m 16, ef_construction 64). It logs and swallows errors, so check the catalog.
      async createHnswIndex() {
        const started = performance.now();
        await store.createHnswIndex({ dimensions });
        const ms = performance.now() - started;
        if (!(await indexExists())) throw new Error('baseline: createHnswIndex did not create the index (see the error logged above)');
        return { ms };
      },

      // LangChain has no drop; CREATE INDEX put the index in the table's schema.
      async dropHnswIndex() {
        await pool.query(`DROP INDEX IF EXISTS ${q(schema)}.${q(HNSW_INDEX)}`);
      },

      async sizes() {
        const size = async (table) => (await pool.query(`SELECT pg_total_relation_size($1::regclass)::bigint AS bytes, (SELECT count(*) FROM ${table})::bigint AS rows`, [table])).rows[0];
        const chat = await size(chatTable);
        const vectors = await size(vectorTable);
        return { chatBytes: Number(chat.bytes), chatRows: Number(chat.rows), vectorBytes: Number(vectors.bytes), vectorRows: Number(vectors.rows) };
      },

      async close() {
        await pool.end();
      },
    };
  } catch (e) {
    await pool.end();
    throw e;
  }
}

module.exports = { openBaseline, langchainVersions, CHAT_TABLE, VECTOR_TABLE, HNSW_INDEX };
