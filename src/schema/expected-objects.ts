/** Every object migrations create, by kind, as health() looks for them in pg_catalog. */
export const EXPECTED_TABLES = [
  'conversation_sessions',
  'conversation_messages',
  'conversation_context',
  'user_preferences',
  'memory_retrieval_cache',
  'session_relationships',
  'memory_performance_metrics',
  'event_ledger',
  'ltst_schema_migrations',
  'ltst_meta',
  'ltst_user_state',
  'ltst_erased_users',
  'ltst_message_terms',
];

export const EXPECTED_VIEWS = ['session_summary', 'user_preference_summary'];

export const EXPECTED_FUNCTIONS = [
  'update_session_length',
  'clean_expired_cache',
  'clean_expired_context',
  'update_updated_at_column',
  'prevent_owner_change',
  'bump_memory_generation',
  'bump_memory_generation_on_learning',
  'bump_memory_generation_for_messages',
  'ltst_session_exists',
];

/** The per-user tables: row-level security (migration 0006) lets a scope see only its users' rows. */
export const ROW_SECURITY_TABLES = [
  'conversation_sessions',
  'conversation_messages',
  'conversation_context',
  'user_preferences',
  'memory_retrieval_cache',
  'session_relationships',
  'memory_performance_metrics',
  'ltst_user_state',
  'ltst_message_terms',
];

/** The policy every table of ROW_SECURITY_TABLES carries. */
export const ROW_SECURITY_POLICY = 'ltst_scope';

export const EXPECTED_TRIGGERS = [
  'update_session_length_trigger',
  'update_session_length_on_delete_trigger',
  'conversation_messages_owner_fixed',
  'conversation_sessions_owner_fixed',
  'update_conversation_sessions_updated_at',
  'update_conversation_context_updated_at',
  'update_user_preferences_updated_at',
  'conversation_messages_insert_generation',
  'conversation_messages_delete_generation',
  'conversation_context_insert_generation',
  'conversation_context_update_generation',
  'conversation_context_delete_generation',
  'user_preferences_insert_generation',
  'user_preferences_update_generation',
  'user_preferences_delete_generation',
  'session_relationships_insert_generation',
  'session_relationships_delete_generation',
];

export const EXPECTED_INDEXES = [
  'idx_conversation_sessions_user_id',
  'idx_conversation_sessions_last_activity',
  'idx_conversation_sessions_relevance_score',
  'idx_conversation_sessions_status',
  'idx_conversation_messages_session_id',
  'idx_conversation_messages_timestamp',
  'idx_conversation_messages_role',
  'idx_conversation_messages_content_hash',
  'idx_conversation_messages_relevance_score',
  'idx_conversation_messages_message_index',
  'idx_conversation_messages_parent',
  'idx_conversation_messages_content_fts',
  'idx_conversation_context_session_id',
  'idx_conversation_context_type',
  'idx_conversation_context_relevance_score',
  'idx_conversation_context_expires_at',
  'idx_user_preferences_user_id',
  'idx_user_preferences_key',
  'idx_user_preferences_type',
  'idx_user_preferences_confidence_score',
  'idx_user_preferences_last_used',
  'idx_memory_retrieval_cache_user_id',
  'idx_memory_retrieval_cache_session_id',
  'idx_memory_retrieval_cache_query_hash',
  'idx_memory_retrieval_cache_expires_at',
  'idx_memory_retrieval_cache_last_accessed',
  'idx_session_relationships_source',
  'idx_session_relationships_user_id',
  'idx_session_relationships_target',
  'idx_session_relationships_type',
  'idx_session_relationships_similarity',
  'idx_memory_performance_metrics_operation_type',
  'idx_memory_performance_metrics_session_id',
  'idx_memory_performance_metrics_user_id',
  'idx_memory_performance_metrics_created_at',
  'idx_memory_performance_metrics_execution_time',
  'idx_event_ledger_pending',
  'idx_event_ledger_event_type',
  'idx_event_ledger_status',
  'idx_event_ledger_lease_expires',
  'idx_event_ledger_user_id',
  'idx_ltst_message_terms_user_term',
];

/** Present only once pgvector is installed and its migration has run. */
export const VECTOR_INDEX = 'idx_conversation_messages_embedding';
