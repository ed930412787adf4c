-- Row-level security: a second wall behind the user filter every query already has. Each
-- operation gives its connection a data scope (src/db/scope.ts), in two settings:
--   ltst.scope = 'users': only the rows of the users listed in ltst.user_ids (a text[] such as {alice});
--   ltst.scope = 'all':   every user's rows (maintenance that spans users, stated explicitly);
--   not set, or anything else: no row at all, and no row may be written.
-- FORCE holds the tables' owner (the role that ran the migrations) to the policies too. A superuser
-- or a role with BYPASSRLS is never held: health() reports that.
--
-- The settings are read in scalar subqueries, evaluated once per statement rather than per row. The
-- policy is a filter, never an index condition: every query keeps its own (leakproof) user_id,
-- session_id or message_id condition for that, so the plans stay as they were. One exception: an
-- index cannot serve a condition that is not leakproof (tsvector @@ tsquery) once a policy applies,
-- so full-text candidates are filtered from the user's rows instead of intersected with the GIN index.
DO $$
DECLARE
  t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['conversation_sessions', 'conversation_messages', 'conversation_context', 'user_preferences',
                           'memory_retrieval_cache', 'session_relationships', 'memory_performance_metrics', 'ltst_user_state'] LOOP
    EXECUTE format('ALTER TABLE {{schema}}.%I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE {{schema}}.%I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format('DROP POLICY IF EXISTS ltst_scope ON {{schema}}.%I', t);
    EXECUTE format($policy$
      CREATE POLICY ltst_scope ON {{schema}}.%I
        USING ((SELECT current_setting('ltst.scope', true)) = 'all'
               OR user_id = ANY ((SELECT nullif(current_setting('ltst.user_ids', true), '')::text[])::text[]))$policy$, t);
  END LOOP;
END
$$;

-- The 'system' user's preferences are everyone's defaults: every scope reads them; only the scope
-- of the user 'system', or of all users, writes them (the policy above).
DROP POLICY IF EXISTS ltst_system_defaults ON {{schema}}.user_preferences;
CREATE POLICY ltst_system_defaults ON {{schema}}.user_preferences FOR SELECT USING (user_id = 'system');

-- Another user's session is invisible, so "it belongs to someone else" (FORBIDDEN) and "it does not
-- exist" (NOT_FOUND) look alike; this tells them apart, and reveals no more than that error does.
-- It looks in the scope of all users and puts the caller's scope back (a function's own SET clause
-- would be simpler, but PostgreSQL 15+ lets only a superuser attach a custom setting to a function).
CREATE OR REPLACE FUNCTION {{schema}}.ltst_session_exists(wanted_session_id text)
RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
  caller_scope text := coalesce(current_setting('ltst.scope', true), '');
  found boolean;
BEGIN
  PERFORM set_config('ltst.scope', 'all', true);
  SELECT EXISTS (SELECT 1 FROM {{schema}}.conversation_sessions WHERE session_id = wanted_session_id) INTO found;
  PERFORM set_config('ltst.scope', caller_scope, true);
  RETURN found;
END;
$$;

-- A view reads its tables as the view's owner; from PostgreSQL 15 it can read them as the caller,
-- so the policies hold through the views for a role that does not own them.
DO $$
BEGIN
  IF current_setting('server_version_num')::int >= 150000 THEN
    EXECUTE 'ALTER VIEW {{schema}}.session_summary SET (security_invoker = true)';
    EXECUTE 'ALTER VIEW {{schema}}.user_preference_summary SET (security_invoker = true)';
  END IF;
END
$$;
