-- A per-user memory generation: bumped by any write that changes what retrieval would return for
-- that user (messages added or removed, context, preferences learned, sessions linked). The
-- retrieval cache keys on it, so one write makes every older cache entry of that user unreachable
-- without deleting anything. Usage bookkeeping (relevance_score, usage_count, last_used) does not
-- bump it, or every retrieval would invalidate the cache it just filled.

CREATE TABLE IF NOT EXISTS {{schema}}.ltst_user_state (
  user_id       varchar(255) PRIMARY KEY,
  generation    bigint NOT NULL DEFAULT 1,
  -- The user's stored messages, kept by the message triggers: retrieval picks exact or HNSW search by it.
  message_count bigint NOT NULL DEFAULT 0 CHECK (message_count >= 0),
  updated_at    timestamptz NOT NULL DEFAULT now()
);

CREATE OR REPLACE FUNCTION {{schema}}.bump_memory_generation()
RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  -- changed_rows is the transition table of whichever event fired; one upsert per user per statement.
  INSERT INTO {{schema}}.ltst_user_state AS u (user_id)
  SELECT DISTINCT user_id FROM changed_rows
  ORDER BY user_id
  ON CONFLICT (user_id) DO UPDATE SET generation = u.generation + 1, updated_at = now();
  RETURN NULL;
END;
$$;

-- Messages also move the user's message count, by the rows of the statement.
CREATE OR REPLACE FUNCTION {{schema}}.bump_memory_generation_for_messages()
RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO {{schema}}.ltst_user_state AS u (user_id, message_count)
    SELECT user_id, count(*) FROM changed_rows GROUP BY user_id ORDER BY user_id
    ON CONFLICT (user_id) DO UPDATE
      SET generation = u.generation + 1, message_count = u.message_count + EXCLUDED.message_count, updated_at = now();
  ELSE
    UPDATE {{schema}}.ltst_user_state u
       SET generation = u.generation + 1, message_count = greatest(u.message_count - d.n, 0), updated_at = now()
      FROM (SELECT user_id, count(*) AS n FROM changed_rows GROUP BY user_id) d
     WHERE u.user_id = d.user_id;
  END IF;
  RETURN NULL;
END;
$$;

-- Preference updates count only when what was learned changed, not when usage was recorded.
CREATE OR REPLACE FUNCTION {{schema}}.bump_memory_generation_on_learning()
RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO {{schema}}.ltst_user_state AS u (user_id)
  SELECT DISTINCT n.user_id FROM new_rows n JOIN old_rows o ON o.preference_id = n.preference_id
   WHERE (n.preference_value, n.preference_type, n.confidence_score, n.source)
         IS DISTINCT FROM (o.preference_value, o.preference_type, o.confidence_score, o.source)
   ORDER BY 1
  ON CONFLICT (user_id) DO UPDATE SET generation = u.generation + 1, updated_at = now();
  RETURN NULL;
END;
$$;

-- Users who already have messages when this migration runs start with their real count.
INSERT INTO {{schema}}.ltst_user_state (user_id, message_count)
SELECT user_id, count(*) FROM {{schema}}.conversation_messages GROUP BY user_id
ON CONFLICT (user_id) DO NOTHING;

CREATE OR REPLACE TRIGGER conversation_messages_insert_generation AFTER INSERT ON {{schema}}.conversation_messages
  REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION {{schema}}.bump_memory_generation_for_messages();
CREATE OR REPLACE TRIGGER conversation_messages_delete_generation AFTER DELETE ON {{schema}}.conversation_messages
  REFERENCING OLD TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION {{schema}}.bump_memory_generation_for_messages();
CREATE OR REPLACE TRIGGER conversation_context_insert_generation AFTER INSERT ON {{schema}}.conversation_context
  REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION {{schema}}.bump_memory_generation();
CREATE OR REPLACE TRIGGER conversation_context_update_generation AFTER UPDATE ON {{schema}}.conversation_context
  REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION {{schema}}.bump_memory_generation();
CREATE OR REPLACE TRIGGER conversation_context_delete_generation AFTER DELETE ON {{schema}}.conversation_context
  REFERENCING OLD TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION {{schema}}.bump_memory_generation();
CREATE OR REPLACE TRIGGER user_preferences_insert_generation AFTER INSERT ON {{schema}}.user_preferences
  REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION {{schema}}.bump_memory_generation();
CREATE OR REPLACE TRIGGER user_preferences_update_generation AFTER UPDATE ON {{schema}}.user_preferences
  REFERENCING NEW TABLE AS new_rows OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION {{schema}}.bump_memory_generation_on_learning();
CREATE OR REPLACE TRIGGER user_preferences_delete_generation AFTER DELETE ON {{schema}}.user_preferences
  REFERENCING OLD TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION {{schema}}.bump_memory_generation();
CREATE OR REPLACE TRIGGER session_relationships_insert_generation AFTER INSERT ON {{schema}}.session_relationships
  REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION {{schema}}.bump_memory_generation();
CREATE OR REPLACE TRIGGER session_relationships_delete_generation AFTER DELETE ON {{schema}}.session_relationships
  REFERENCING OLD TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION {{schema}}.bump_memory_generation();
