-- requires: vector
-- The HNSW index holds only the messages of users in the vector graph (0012): most users' saves
-- no longer insert into it, and a bulk build covers only the large users. Users already past the
-- threshold search exactly until their next retrieval admits them (in the background).
DROP INDEX IF EXISTS {{schema}}.idx_conversation_messages_embedding;
CREATE INDEX IF NOT EXISTS idx_conversation_messages_embedding
  ON {{schema}}.conversation_messages USING hnsw (embedding {{vector_schema}}.vector_cosine_ops)
  WITH (m = 16, ef_construction = 64) WHERE in_vector_graph;
