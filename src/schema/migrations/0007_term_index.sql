-- Full-text search by the user's own terms, in time proportional to the matches, not to the user.
--
-- Row-level security (0006) keeps the GIN index on content_tsv from serving a search: tsvector @@
-- tsquery is not leakproof, so PostgreSQL filters the user's rows one by one (a user with 25,000
-- messages: 169 ms per retrieval). This table is the same inverted index, keyed by user and term
-- with plain equality (leakproof): the matches of a term are one index range, and a term's document
-- frequency is a count over that range. BM25's other statistics, the number of messages and their
-- total length, are kept per user in ltst_user_state.
CREATE TABLE IF NOT EXISTS {{schema}}.ltst_message_terms (
  message_id bigint       NOT NULL,
  term       text         NOT NULL,
  user_id    varchar(255) NOT NULL,
  -- How often the message has the term (its positions in content_tsv).
  frequency  integer      NOT NULL CHECK (frequency > 0),
  PRIMARY KEY (message_id, term)
);
CREATE INDEX IF NOT EXISTS idx_ltst_message_terms_user_term ON {{schema}}.ltst_message_terms (user_id, term, message_id) INCLUDE (frequency);

ALTER TABLE {{schema}}.ltst_user_state ADD COLUMN IF NOT EXISTS term_total bigint NOT NULL DEFAULT 0 CHECK (term_total >= 0);

-- Messages are never updated (content_tsv is generated from content, which no operation changes),
-- so the terms follow inserts and deletes only, in the statement trigger that already counts them.
CREATE OR REPLACE FUNCTION {{schema}}.bump_memory_generation_for_messages()
RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO {{schema}}.ltst_user_state AS u (user_id, message_count, term_total)
    SELECT user_id, count(*), coalesce(sum(length(content_tsv)), 0) FROM changed_rows GROUP BY user_id ORDER BY user_id
    ON CONFLICT (user_id) DO UPDATE
      SET generation = nextval('{{schema}}.ltst_generation_seq'), message_count = u.message_count + EXCLUDED.message_count,
          term_total = u.term_total + EXCLUDED.term_total, updated_at = now();
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

-- Messages stored before this migration. Work for all users: the migration runs in scope 'all'.
INSERT INTO {{schema}}.ltst_message_terms (message_id, term, user_id, frequency)
SELECT m.message_id, t.lexeme, m.user_id, coalesce(array_length(t.positions, 1), 1)
  FROM {{schema}}.conversation_messages m CROSS JOIN LATERAL unnest(m.content_tsv) t
ON CONFLICT DO NOTHING;
UPDATE {{schema}}.ltst_user_state u SET term_total = d.terms
  FROM (SELECT user_id, sum(length(content_tsv)) AS terms FROM {{schema}}.conversation_messages GROUP BY user_id) d
 WHERE u.user_id = d.user_id;

-- The same wall as every other per-user table (0006).
ALTER TABLE {{schema}}.ltst_message_terms ENABLE ROW LEVEL SECURITY;
ALTER TABLE {{schema}}.ltst_message_terms FORCE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS ltst_scope ON {{schema}}.ltst_message_terms;
CREATE POLICY ltst_scope ON {{schema}}.ltst_message_terms
  USING ((SELECT current_setting('ltst.scope', true)) = 'all'
         OR user_id = ANY ((SELECT nullif(current_setting('ltst.user_ids', true), '')::text[])::text[]));
