-- What deleteUserData needs so that deleted data never comes back.
--
-- 1. Generations come from one sequence for the whole schema, never from the user's own count: a
--    user deleted (their ltst_user_state row with them) and back gets generations larger than any
--    they had, so a cache key of their deleted memory can never be asked for again.
CREATE SEQUENCE IF NOT EXISTS {{schema}}.ltst_generation_seq;
SELECT setval('{{schema}}.ltst_generation_seq',
              greatest((SELECT last_value FROM {{schema}}.ltst_generation_seq),
                       (SELECT coalesce(max(generation), 1) FROM {{schema}}.ltst_user_state)));
ALTER TABLE {{schema}}.ltst_user_state ALTER COLUMN generation SET DEFAULT nextval('{{schema}}.ltst_generation_seq');

CREATE OR REPLACE FUNCTION {{schema}}.bump_memory_generation()
RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO {{schema}}.ltst_user_state AS u (user_id)
  SELECT DISTINCT user_id FROM changed_rows
  ORDER BY user_id
  ON CONFLICT (user_id) DO UPDATE SET generation = nextval('{{schema}}.ltst_generation_seq'), updated_at = now();
  RETURN NULL;
END;
$$;

CREATE OR REPLACE FUNCTION {{schema}}.bump_memory_generation_for_messages()
RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO {{schema}}.ltst_user_state AS u (user_id, message_count)
    SELECT user_id, count(*) FROM changed_rows GROUP BY user_id ORDER BY user_id
    ON CONFLICT (user_id) DO UPDATE
      SET generation = nextval('{{schema}}.ltst_generation_seq'), message_count = u.message_count + EXCLUDED.message_count, updated_at = now();
  ELSE
    UPDATE {{schema}}.ltst_user_state u
       SET generation = nextval('{{schema}}.ltst_generation_seq'), message_count = greatest(u.message_count - d.n, 0), updated_at = now()
      FROM (SELECT user_id, count(*) AS n FROM changed_rows GROUP BY user_id) d
     WHERE u.user_id = d.user_id;
  END IF;
  RETURN NULL;
END;
$$;

CREATE OR REPLACE FUNCTION {{schema}}.bump_memory_generation_on_learning()
RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO {{schema}}.ltst_user_state AS u (user_id)
  SELECT DISTINCT n.user_id FROM new_rows n JOIN old_rows o ON o.preference_id = n.preference_id
   WHERE (n.preference_value, n.preference_type, n.confidence_score, n.source)
         IS DISTINCT FROM (o.preference_value, o.preference_type, o.confidence_score, o.source)
   ORDER BY 1
  ON CONFLICT (user_id) DO UPDATE SET generation = nextval('{{schema}}.ltst_generation_seq'), updated_at = now();
  RETURN NULL;
END;
$$;

-- 2. Recent erasures, by the SHA-256 of the user id (the id itself is not kept), for a day: a
--    performance metric another process measured before the erasure and writes after it is
--    dropped on insert. cleanExpired removes erasures older than a day.
CREATE TABLE IF NOT EXISTS {{schema}}.ltst_erased_users (
  user_hash varchar(64) PRIMARY KEY CHECK (user_hash ~ '^[0-9a-f]{64}$'),
  erased_at timestamptz NOT NULL
);

-- 3. Events may concern a user: deleted and exported with them.
ALTER TABLE {{schema}}.event_ledger ADD COLUMN IF NOT EXISTS user_id varchar(255) CHECK (user_id <> '');
CREATE INDEX IF NOT EXISTS idx_event_ledger_user_id ON {{schema}}.event_ledger (user_id) WHERE user_id IS NOT NULL;
