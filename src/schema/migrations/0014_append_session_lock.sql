-- requires: vector
-- ltst_append_messages locks its session FOR NO KEY UPDATE instead of FOR UPDATE; the rest is as
-- in 0011. FOR UPDATE also blocks every foreign-key check on the session (FOR KEY SHARE): a user
-- starting a session links it to their previous one (session_relationships) while holding their
-- state row, and an append to that previous session, holding it FOR UPDATE, then waited for the
-- state row: a deadlock, seen with four writers of one user (PostgreSQL broke it after 1 s, and
-- the store's retry stored everything). next_message_index is no key, so nothing else changes.
CREATE OR REPLACE FUNCTION {{schema}}.ltst_append_messages(
  p_session text, p_user text, p_roles text[], p_contents text[], p_types text[], p_metadata jsonb[],
  p_timestamps timestamptz[], p_keys text[], p_content_hashes text[], p_context_hashes text[], p_embeddings {{vector_schema}}.vector[])
RETURNS TABLE (item integer, duplicate boolean, message_id text, session_id text, user_id text, role text, content text,
               message_type text, message_index integer, content_hash text, context_hash text, parent_message_id text,
               metadata jsonb, idempotency_key text, "timestamp" timestamptz, created_at timestamptz)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  owner text;
  first_index integer;
  stored integer;
BEGIN
  -- Row-level security hides another user's session: then owner is null too. FOR NO KEY UPDATE
  -- still serializes appends to the session, and lets rows referring to it be written meanwhile.
  SELECT s.user_id, s.next_message_index INTO owner, first_index
    FROM {{schema}}.conversation_sessions s WHERE s.session_id = p_session FOR NO KEY UPDATE;
  IF owner IS DISTINCT FROM p_user OR EXISTS (SELECT 1 FROM unnest(p_keys) k WHERE k IS NOT NULL GROUP BY k HAVING count(*) > 1) THEN
    RAISE EXCEPTION 'not a plain append' USING ERRCODE = 'LT001';
  END IF;

  RETURN QUERY
  WITH inserted AS (
    INSERT INTO {{schema}}.conversation_messages
      (session_id, user_id, role, content, message_type, metadata, "timestamp", idempotency_key, content_hash, context_hash, message_index, embedding)
    SELECT p_session, p_user, x.r, x.c, x.t, x.md, coalesce(x.ts, now()), x.k, x.ch, x.xh, first_index + x.ord::integer - 1, x.e
      FROM unnest(p_roles, p_contents, p_types, p_metadata, p_timestamps, p_keys, p_content_hashes, p_context_hashes, p_embeddings)
           WITH ORDINALITY AS x(r, c, t, md, ts, k, ch, xh, e, ord)
    ON CONFLICT (session_id, idempotency_key) DO NOTHING
    RETURNING *
  )
  SELECT (m.message_index - first_index)::integer, false, m.message_id::text, m.session_id::text, m.user_id::text, m.role::text,
         m.content, m.message_type::text, m.message_index, m.content_hash::text, m.context_hash::text, m.parent_message_id::text,
         m.metadata, m.idempotency_key::text, m."timestamp", m.created_at
    FROM inserted m ORDER BY m.message_index;
  GET DIAGNOSTICS stored = ROW_COUNT;
  IF stored < cardinality(p_roles) THEN
    RAISE EXCEPTION 'a key was seen before' USING ERRCODE = 'LT001';
  END IF;
  UPDATE {{schema}}.conversation_sessions s SET next_message_index = first_index + stored WHERE s.session_id = p_session;
END;
$$;
