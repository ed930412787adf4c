-- requires: vector
-- A chat turn's messages in one round trip: the common case of storeMessages (one existing session
-- of the caller, no parent message, idempotency keys that are new or name the very same message) in
-- one statement, with every guarantee of the general path: the session row locked for a gap-free
-- message_index, a key seen before returning the stored message, the triggers (statistics, term
-- index, generation) as for any insert. Anything else (a new session, another user's, a parent, a
-- key repeated in the batch or naming another message) raises LT001 before writing, and the caller
-- takes the general path, which creates the session or says exactly what is wrong.
-- Needs pgvector for the embedding column; without it storeMessages always takes the general path.
CREATE OR REPLACE FUNCTION {{schema}}.ltst_append_messages(
  p_session text, p_user text, p_roles text[], p_contents text[], p_types text[], p_metadata jsonb[],
  p_timestamps timestamptz[], p_keys text[], p_content_hashes text[], p_context_hashes text[], p_embeddings text[])
RETURNS TABLE (item integer, duplicate boolean, message_id text, session_id text, user_id text, role text, content text,
               message_type text, message_index integer, content_hash text, context_hash text, parent_message_id text,
               metadata jsonb, idempotency_key text, "timestamp" timestamptz, created_at timestamptz)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  owner text;
  first_index integer;
BEGIN
  -- Row-level security hides another user's session: then owner is null too.
  SELECT s.user_id, s.next_message_index INTO owner, first_index
    FROM {{schema}}.conversation_sessions s WHERE s.session_id = p_session FOR UPDATE;
  IF owner IS DISTINCT FROM p_user
     OR EXISTS (SELECT 1 FROM unnest(p_keys) k WHERE k IS NOT NULL GROUP BY k HAVING count(*) > 1)
     OR EXISTS (SELECT 1 FROM unnest(p_keys, p_roles, p_content_hashes) x(k, r, h)
                  JOIN {{schema}}.conversation_messages m ON m.session_id = p_session AND m.idempotency_key = x.k
                 WHERE (m.role, m.content_hash) IS DISTINCT FROM (x.r, x.h)) THEN
    RAISE EXCEPTION 'not a plain append' USING ERRCODE = 'LT001';
  END IF;

  RETURN QUERY
  WITH input AS (
    SELECT x.*, m.message_id AS stored_id
      FROM unnest(p_roles, p_contents, p_types, p_metadata, p_timestamps, p_keys, p_content_hashes, p_context_hashes, p_embeddings)
           WITH ORDINALITY AS x(r, c, t, md, ts, k, ch, xh, e, ord)
      LEFT JOIN {{schema}}.conversation_messages m ON m.session_id = p_session AND m.idempotency_key = x.k
  ), fresh AS (
    SELECT i.*, first_index + (row_number() OVER (ORDER BY i.ord))::integer - 1 AS new_index FROM input i WHERE i.stored_id IS NULL
  ), inserted AS (
    INSERT INTO {{schema}}.conversation_messages
      (session_id, user_id, role, content, message_type, metadata, "timestamp", idempotency_key, content_hash, context_hash, message_index, embedding)
    SELECT p_session, p_user, f.r, f.c, f.t, f.md, coalesce(f.ts, now()), f.k, f.ch, f.xh, f.new_index, f.e::{{vector_schema}}.vector FROM fresh f
    RETURNING *
  ), reserved AS (
    UPDATE {{schema}}.conversation_sessions s SET next_message_index = first_index + (SELECT count(*) FROM fresh)::integer
     WHERE s.session_id = p_session AND EXISTS (SELECT 1 FROM fresh)
  )
  SELECT (i.ord - 1)::integer, i.stored_id IS NOT NULL, m.message_id::text, m.session_id::text, m.user_id::text, m.role::text,
         m.content, m.message_type::text, m.message_index, m.content_hash::text, m.context_hash::text, m.parent_message_id::text,
         m.metadata, m.idempotency_key::text, m."timestamp", m.created_at
    FROM input i
    LEFT JOIN fresh f ON f.ord = i.ord
    JOIN (SELECT message_id, session_id, user_id, role, content, message_type, message_index, content_hash, context_hash,
                 parent_message_id, metadata, idempotency_key, "timestamp", created_at FROM inserted
          UNION ALL
          SELECT message_id, session_id, user_id, role, content, message_type, message_index, content_hash, context_hash,
                 parent_message_id, metadata, idempotency_key, "timestamp", created_at
            FROM {{schema}}.conversation_messages WHERE message_id IN (SELECT stored_id FROM input)) m
      ON m.message_id = i.stored_id OR m.message_index = f.new_index
   ORDER BY i.ord;
END;
$$;
