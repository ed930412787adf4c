-- Which messages the HNSW graph holds: only those of users past the store's vectorGraphMinMessages
-- (20,000 by default). Below that a user's nearest messages are found exactly, through the user's
-- index and a sort, which is faster there and exact; yet every message in the graph cost its insert
-- a graph search (a save of two messages with embeddings: 1.2 to 1.3 ms without, 1.6 to 2.5 ms
-- with). Migration 0013 keeps the graph to the rows flagged here; joinVectorGraph
-- (src/memory/vector-graph.ts) admits a user.
ALTER TABLE {{schema}}.conversation_messages ADD COLUMN IF NOT EXISTS in_vector_graph boolean NOT NULL DEFAULT false;
ALTER TABLE {{schema}}.ltst_user_state ADD COLUMN IF NOT EXISTS in_vector_graph boolean NOT NULL DEFAULT false;

-- As in 0007, and a user in the graph keeps every new message in it. The flag is read from the
-- state row as this statement updates (so locks) it: a user being admitted locks that row first,
-- so either these rows are committed before the admission flags the user's rows, or the flag is
-- already set here.
CREATE OR REPLACE FUNCTION {{schema}}.bump_memory_generation_for_messages()
RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    WITH state AS (
      INSERT INTO {{schema}}.ltst_user_state AS u (user_id, message_count, term_total)
      SELECT user_id, count(*), coalesce(sum(length(content_tsv)), 0) FROM changed_rows GROUP BY user_id ORDER BY user_id
      ON CONFLICT (user_id) DO UPDATE
        SET generation = nextval('{{schema}}.ltst_generation_seq'), message_count = u.message_count + EXCLUDED.message_count,
            term_total = u.term_total + EXCLUDED.term_total, updated_at = now()
      RETURNING u.user_id, u.in_vector_graph
    )
    UPDATE {{schema}}.conversation_messages m SET in_vector_graph = true
      FROM changed_rows c JOIN state s ON s.user_id = c.user_id AND s.in_vector_graph
     WHERE m.message_id = c.message_id;
    INSERT INTO {{schema}}.ltst_message_terms (message_id, term, user_id, frequency)
    SELECT c.message_id, t.lexeme, c.user_id, coalesce(array_length(t.positions, 1), 1)
      FROM changed_rows c CROSS JOIN LATERAL unnest(c.content_tsv) t;
  ELSE
    UPDATE {{schema}}.ltst_user_state u
       SET generation = nextval('{{schema}}.ltst_generation_seq'), message_count = greatest(u.message_count - d.n, 0),
           term_total = greatest(u.term_total - d.terms, 0), updated_at = now()
      FROM (SELECT user_id, count(*) AS n, coalesce(sum(length(content_tsv)), 0) AS terms FROM changed_rows GROUP BY user_id) d
     WHERE u.user_id = d.user_id;
    DELETE FROM {{schema}}.ltst_message_terms t USING changed_rows c WHERE t.message_id = c.message_id;
  END IF;
  RETURN NULL;
END;
$$;
