-- requires: vector
-- The embedding column and its HNSW index. Applied only once the pgvector extension exists;
-- until then semantic search is off and everything else works. {{vector_schema}} is the
-- schema pgvector is installed in, {{dimensions}} the validated embedding dimension.

ALTER TABLE {{schema}}.conversation_messages
  ADD COLUMN IF NOT EXISTS embedding {{vector_schema}}.vector({{dimensions}});

CREATE INDEX IF NOT EXISTS idx_conversation_messages_embedding
  ON {{schema}}.conversation_messages USING hnsw (embedding {{vector_schema}}.vector_cosine_ops)
  WITH (m = 16, ef_construction = 64);
