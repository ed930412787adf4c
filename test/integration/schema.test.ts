import { openMemory, closeAllMemory } from '../../src';
import { dropSchema, onDatabase, testTargets } from '../helpers/databases';
import { ALL_MIGRATIONS, LATEST_VERSION } from '../helpers/migration-names';

// The seed specification's names, written out here on purpose rather than imported from src/:
// the test reads them back from the catalog, so a rename in our SQL fails it.
const SEED_COLUMNS: Record<string, string[]> = {
  conversation_sessions: ['session_id', 'user_id', 'session_name', 'session_type', 'status', 'created_at', 'last_activity', 'metadata', 'context_summary', 'relevance_score', 'session_length', 'updated_at'],
  conversation_messages: ['message_id', 'session_id', 'message_type', 'role', 'content', 'content_hash', 'context_hash', 'timestamp', 'message_index', 'metadata', 'embedding', 'relevance_score', 'is_context_message', 'parent_message_id', 'created_at'],
  conversation_context: ['context_id', 'session_id', 'context_type', 'context_key', 'context_value', 'relevance_score', 'context_hash', 'metadata', 'created_at', 'updated_at', 'expires_at'],
  user_preferences: ['preference_id', 'user_id', 'preference_key', 'preference_value', 'preference_type', 'confidence_score', 'source', 'usage_count', 'last_used', 'created_at', 'updated_at'],
  memory_retrieval_cache: ['cache_id', 'cache_key', 'session_id', 'query_hash', 'retrieved_context', 'relevance_scores', 'retrieval_time_ms', 'cache_hit_count', 'last_accessed', 'created_at', 'expires_at'],
  session_relationships: ['relationship_id', 'source_session_id', 'target_session_id', 'relationship_type', 'similarity_score', 'relationship_strength', 'metadata', 'created_at'],
  memory_performance_metrics: ['metric_id', 'operation_type', 'session_id', 'operation_hash', 'execution_time_ms', 'result_count', 'cache_hit', 'error_message', 'metadata', 'created_at'],
  event_ledger: ['event_type', 'event_data', 'status', 'priority', 'created_at', 'processed_at', 'retry_count', 'max_retries', 'error_message', 'metadata'],
};
const PER_USER_TABLES = ['conversation_sessions', 'conversation_messages', 'conversation_context', 'user_preferences', 'memory_retrieval_cache', 'session_relationships'];
const SEED_INDEXES = [
  'idx_conversation_sessions_user_id', 'idx_conversation_sessions_last_activity', 'idx_conversation_sessions_relevance_score', 'idx_conversation_sessions_status',
  'idx_conversation_messages_session_id', 'idx_conversation_messages_timestamp', 'idx_conversation_messages_role', 'idx_conversation_messages_content_hash',
  'idx_conversation_messages_relevance_score', 'idx_conversation_messages_message_index', 'idx_conversation_messages_embedding',
  'idx_conversation_context_session_id', 'idx_conversation_context_type', 'idx_conversation_context_relevance_score', 'idx_conversation_context_expires_at',
  'idx_user_preferences_user_id', 'idx_user_preferences_key', 'idx_user_preferences_type', 'idx_user_preferences_confidence_score', 'idx_user_preferences_last_used',
  'idx_memory_retrieval_cache_session_id', 'idx_memory_retrieval_cache_query_hash', 'idx_memory_retrieval_cache_expires_at', 'idx_memory_retrieval_cache_last_accessed',
  'idx_session_relationships_source', 'idx_session_relationships_target', 'idx_session_relationships_type', 'idx_session_relationships_similarity',
  'idx_memory_performance_metrics_operation_type', 'idx_memory_performance_metrics_session_id', 'idx_memory_performance_metrics_created_at', 'idx_memory_performance_metrics_execution_time',
];

describe.each(testTargets(__filename))('schema on $name', ({ config }) => {
  const schema = config.schema as string;
  const catalog = <T>(text: string, values: unknown[] = [schema]) => onDatabase(config, async (db) => (await db.query<T>(text, values)).rows);

  beforeAll(async () => {
    await dropSchema(config);
    const report = await openMemory(config).migrate();
    expect(report.applied).toEqual(ALL_MIGRATIONS);
    expect(report.semanticSearch).toBe(true);
  });
  afterAll(async () => {
    await dropSchema(config);
    await closeAllMemory();
  });

  it('has every seed table with every seed column, and user_id on every per-user table', async () => {
    const rows = await catalog<{ table_name: string; column_name: string }>(
      'SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = $1',
    );
    const columns = (table: string) => rows.filter((r) => r.table_name === table).map((r) => r.column_name);
    for (const [table, expected] of Object.entries(SEED_COLUMNS)) {
      expect({ table, missing: expected.filter((c) => !columns(table).includes(c)) }).toEqual({ table, missing: [] });
    }
    for (const table of PER_USER_TABLES) expect(columns(table)).toContain('user_id');
  });

  it('uses timestamptz for every time column', async () => {
    const rows = await catalog<{ column: string; data_type: string }>(
      `SELECT table_name || '.' || column_name AS column, data_type FROM information_schema.columns
        WHERE table_schema = $1 AND column_name IN ('created_at', 'updated_at', 'last_activity', 'timestamp', 'expires_at', 'last_used', 'processed_at')`,
    );
    expect(rows.length).toBeGreaterThan(15);
    expect(rows.filter((r) => r.data_type !== 'timestamp with time zone')).toEqual([]);
  });

  it('has every seed index, the embedding index as HNSW cosine (m 16, ef_construction 64) over the vector graph\'s rows, and a full-text index', async () => {
    const rows = await catalog<{ indexname: string; indexdef: string }>('SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = $1');
    const names = rows.map((r) => r.indexname);
    expect(SEED_INDEXES.filter((name) => !names.includes(name))).toEqual([]);
    const embedding = rows.find((r) => r.indexname === 'idx_conversation_messages_embedding')!.indexdef;
    expect(embedding).toMatch(/USING hnsw \(embedding (\S+\.)?vector_cosine_ops\) WITH \(m='?16'?, ef_construction='?64'?\) WHERE in_vector_graph$/);
    expect(rows.some((r) => /USING gin \(content_tsv\)/.test(r.indexdef))).toBe(true);
    const [column] = await catalog<{ type: string }>(
      `SELECT format_type(atttypid, atttypmod) AS type FROM pg_attribute WHERE attrelid = to_regclass($1) AND attname = 'embedding'`,
      [`"${schema}".conversation_messages`],
    );
    expect(column.type).toBe('vector(384)');
  });

  it('has the unique constraints a correct system needs', async () => {
    const rows = await catalog<{ table: string; columns: string }>(
      `SELECT c.conrelid::regclass::text AS table, string_agg(a.attname, ',' ORDER BY k.ord) AS columns
         FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace
         CROSS JOIN LATERAL unnest(c.conkey) WITH ORDINALITY k(attnum, ord)
         JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum
        WHERE n.nspname = $1 AND c.contype IN ('u', 'p') GROUP BY c.oid, c.conrelid`,
    );
    const uniques = rows.map((r) => `${r.table.replace(/^.*\./, '')}(${r.columns})`);
    expect(uniques).toEqual(
      expect.arrayContaining([
        'conversation_messages(session_id,message_index)',
        'conversation_context(session_id,context_type,context_key)',
        'user_preferences(user_id,preference_key)',
        'memory_retrieval_cache(cache_key)',
        'session_relationships(source_session_id,target_session_id,relationship_type)',
      ]),
    );
  });

  it('has the seed functions, triggers and views', async () => {
    const functions = await catalog<{ proname: string; result: string }>(
      `SELECT p.proname, pg_get_function_result(p.oid) AS result FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = $1`,
    );
    const result = (name: string) => functions.find((f) => f.proname === name)?.result;
    expect(result('update_session_length')).toBe('trigger');
    expect(result('clean_expired_cache')).toBe('integer');
    expect(result('clean_expired_context')).toBe('integer');
    const triggers = await catalog<{ trigger_name: string; event: string }>(
      `SELECT trigger_name, event_manipulation AS event FROM information_schema.triggers WHERE trigger_schema = $1 AND event_object_table = 'conversation_messages'`,
    );
    expect(triggers).toEqual(expect.arrayContaining([{ trigger_name: 'update_session_length_trigger', event: 'INSERT' }, expect.objectContaining({ event: 'DELETE' })]));
    const views = await catalog<{ table_name: string }>('SELECT table_name FROM information_schema.views WHERE table_schema = $1 ORDER BY 1');
    expect(views.map((v) => v.table_name)).toEqual(['session_summary', 'user_preference_summary']);
  });

  it('inserts the default system preferences once', async () => {
    await openMemory(config).migrate();
    const rows = await catalog<{ preference_key: string; preference_value: string }>(
      `SELECT preference_key, preference_value FROM "${schema}".user_preferences WHERE user_id = 'system' ORDER BY preference_key`,
      [],
    );
    expect(rows).toEqual([
      { preference_key: 'cache_ttl_hours', preference_value: '1' },
      { preference_key: 'max_context_length', preference_value: '10000' },
      { preference_key: 'memory_retention_days', preference_value: '30' },
      { preference_key: 'relevance_threshold', preference_value: '0.7' },
    ]);
  });

  it('reports itself healthy with nothing missing', async () => {
    const report = await openMemory(config).health();
    expect(report).toMatchObject({ ok: true, installed: true, version: LATEST_VERSION, pendingMigrations: [], missingObjects: [], semanticSearch: true, dimensions: 384 });
    expect(report.usage?.tables.map((t) => t.table).sort()).toEqual(expect.arrayContaining(Object.keys(SEED_COLUMNS)));
    expect(report.usage?.indexes.map((i) => i.index)).toEqual(expect.arrayContaining(SEED_INDEXES));
    expect(report.usage).toMatchObject({ sessionLengthTriggerEnabled: true, cache: { lookups: 0, hitRate: null } });
  });
});
