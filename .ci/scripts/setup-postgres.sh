#!/usr/bin/env bash
# Prepare the local PostgreSQL server for the integration tests.
#
#  * makes sure the local cluster(s) are running (starts them if pg_isready fails)
#  * role     ltst / password ltst   (LOGIN, NOT superuser)
#  * database ltst_test      owned by ltst, with the pgvector extension created
#                            by the postgres superuser (schema public)
#  * database ltst_novector  owned by ltst, WITHOUT the vector extension (to test
#                            the "no pgvector" code path against a real server)
#
# pgvector is NOT a trusted extension (its vector.control has no `trusted = true`),
# so a non-superuser cannot CREATE EXTENSION vector even in a database it owns;
# that is why the superuser creates it here. The script probes and reports this.
#
# Idempotent; run as root (or any OS user that can connect as the postgres
# superuser over TCP). Requires pgvector to be installed: see install-pgvector.sh.
# Tunables: PGHOST (127.0.0.1) PGPORT (5432) PGSUPERUSER (postgres)
set -euo pipefail

PGHOST="${PGHOST:-127.0.0.1}"
PGPORT="${PGPORT:-5432}"
PGSUPERUSER="${PGSUPERUSER:-postgres}"
ROLE=ltst
PASSWORD=ltst
DB=ltst_test
DB_NOVECTOR=ltst_novector
export PGCONNECT_TIMEOUT=5

log() { printf '[setup-postgres] %s\n' "$*"; }
die() { printf '[setup-postgres] ERROR: %s\n' "$*" >&2; exit 1; }

# --- 1. server running? ------------------------------------------------------------
if ! pg_isready -q -h "$PGHOST" -p "$PGPORT"; then
  log "PostgreSQL not accepting connections at $PGHOST:$PGPORT; starting local cluster(s)"
  command -v pg_ctlcluster >/dev/null || die "pg_ctlcluster not found (postgresql-common not installed?)"
  for ver in $(ls /etc/postgresql); do
    [ -d "/etc/postgresql/$ver/main" ] || continue
    # "start" fails if the cluster is already running; tolerate that.
    pg_ctlcluster --skip-systemctl-redirect "$ver" main start \
      || log "pg_ctlcluster $ver main start returned non-zero (already running?)"
  done
  for _ in $(seq 1 30); do
    pg_isready -q -h "$PGHOST" -p "$PGPORT" && break
    sleep 1
  done
  pg_isready -q -h "$PGHOST" -p "$PGPORT" || die "PostgreSQL did not become ready within 30s"
fi
log "PostgreSQL is up at $PGHOST:$PGPORT"

# psql as the superuser against database $1 (remaining args passed on)
su_psql() {
  local db="$1"; shift
  PGOPTIONS="${PGOPTIONS:-} -c client_min_messages=warning" psql -X -q -v ON_ERROR_STOP=1 -h "$PGHOST" -p "$PGPORT" -U "$PGSUPERUSER" -d "$db" -tA "$@"
}

su_psql postgres -c 'select 1' >/dev/null \
  || die "cannot connect as superuser '$PGSUPERUSER' to $PGHOST:$PGPORT"

[ "$(su_psql postgres -c "select count(*) from pg_available_extensions where name='vector'")" = "1" ] \
  || die "pgvector is not installed on this server; run .ci/scripts/install-pgvector.sh first"

# --- 2. role ---------------------------------------------------------------------------
# CREATE if missing, then (re)assert the attributes so the state is always the same.
su_psql postgres <<SQL
SELECT format('CREATE ROLE %I LOGIN', '$ROLE')
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '$ROLE')
\gexec
ALTER ROLE "$ROLE" WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD '$PASSWORD';
SQL
log "role $ROLE ready (login, not superuser)"

# --- 3. databases ---------------------------------------------------------------------
for db in "$DB" "$DB_NOVECTOR"; do
  # CREATE DATABASE cannot run inside a DO block/transaction, hence \gexec.
  su_psql postgres <<SQL
SELECT format('CREATE DATABASE %I OWNER %I', '$db', '$ROLE')
 WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = '$db')
\gexec
ALTER DATABASE "$db" OWNER TO "$ROLE";
SQL
done
log "databases $DB and $DB_NOVECTOR ready (owner $ROLE)"

# --- 4. extension ----------------------------------------------------------------------
su_psql "$DB" -c 'CREATE EXTENSION IF NOT EXISTS vector WITH SCHEMA public'
vec_version="$(su_psql "$DB" -c "select extversion from pg_extension where extname='vector'")"
log "extension vector $vec_version present in $DB (schema public)"

# Keep the no-vector database free of the extension.
if [ -n "$(su_psql "$DB_NOVECTOR" -c "select 1 from pg_extension where extname='vector'")" ]; then
  log "removing vector extension from $DB_NOVECTOR"
  su_psql "$DB_NOVECTOR" -c 'DROP EXTENSION vector CASCADE'
fi

# --- 5. checks as the test role -------------------------------------------------------
ROLE_URL_BASE="postgres://$ROLE:$PASSWORD@$PGHOST:$PGPORT"

dist="$(psql -X -q -v ON_ERROR_STOP=1 -tA "$ROLE_URL_BASE/$DB" \
  -c "CREATE TEMP TABLE _v (e vector(3)); INSERT INTO _v VALUES ('[1,2,3]');
      SELECT e <-> '[1,2,4]' FROM _v;")" \
  || die "role $ROLE cannot use the vector type in $DB"
[ "$dist" = "1" ] || die "unexpected vector distance from $DB: '$dist'"
log "role $ROLE can use vector in $DB (L2 distance check ok)"

# Can a non-superuser create pgvector itself? Probe inside a rolled-back transaction.
trusted="$(su_psql postgres -c "select coalesce(bool_or(trusted), false) from pg_available_extension_versions where name='vector'")"
if probe_out="$(psql -X -q -v ON_ERROR_STOP=1 -tA "$ROLE_URL_BASE/$DB_NOVECTOR" \
      -c 'BEGIN' -c 'CREATE EXTENSION vector' -c 'ROLLBACK' 2>&1)"; then
  log "note: pgvector is trusted here (trusted=$trusted): $ROLE CAN create extension vector in its own database"
else
  log "note: pgvector is NOT trusted (trusted=$trusted): $ROLE cannot create extension vector itself ($(printf '%s' "$probe_out" | head -n1))"
fi
[ -z "$(su_psql "$DB_NOVECTOR" -c "select 1 from pg_extension where extname='vector'")" ] \
  || die "$DB_NOVECTOR unexpectedly has the vector extension"
log "$DB_NOVECTOR has no vector extension"

echo
echo "postgres://$ROLE:$PASSWORD@$PGHOST:$PGPORT/$DB"
