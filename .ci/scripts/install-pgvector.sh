#!/usr/bin/env bash
# Make the pgvector ("vector") extension available to the local PostgreSQL server.
#
# Debian bookworm ships no pgvector binary package, and this CI machine can only
# reach Debian's package mirrors (and the npm registry). So we fetch Debian's own
# pgvector *source* package from trixie (verified through apt with Debian's
# archive keyring), and build + install it against the running server's
# PostgreSQL major version.
#
# Idempotent: exits early when the server already lists the extension.
# Must run as root. Tunables (environment):
#   PGHOST (127.0.0.1) PGPORT (5432) PGSUPERUSER (postgres)
#   PGVECTOR_SUITE (trixie)   Debian suite to take the pgvector source from
#   DEBIAN_MIRROR             override mirror autodetection (e.g. http://deb.debian.org/debian)
set -euo pipefail

PGHOST="${PGHOST:-127.0.0.1}"
PGPORT="${PGPORT:-5432}"
PGSUPERUSER="${PGSUPERUSER:-postgres}"
SUITE="${PGVECTOR_SUITE:-trixie}"

log() { printf '[install-pgvector] %s\n' "$*"; }
die() { printf '[install-pgvector] ERROR: %s\n' "$*" >&2; exit 1; }

psql_su() { psql -X -q -v ON_ERROR_STOP=1 -h "$PGHOST" -p "$PGPORT" -U "$PGSUPERUSER" -d postgres -tA "$@"; }

vector_available() {
  [ "$(psql_su -c "select 1 from pg_available_extensions where name='vector'" 2>/dev/null || true)" = "1" ]
}

[ "$(id -u)" -eq 0 ] || die "must run as root"
command -v psql >/dev/null || die "psql not found"
pg_isready -q -h "$PGHOST" -p "$PGPORT" || die "PostgreSQL is not accepting connections at $PGHOST:$PGPORT"

if vector_available; then
  log "pgvector already available (default_version $(psql_su -c "select default_version from pg_available_extensions where name='vector'")); nothing to do."
  exit 0
fi

# --- which PostgreSQL are we building for? ------------------------------------
ver_num="$(psql_su -c 'show server_version_num')"
PG_MAJOR=$(( ver_num / 10000 ))
PG_CONFIG="${PG_CONFIG:-/usr/lib/postgresql/${PG_MAJOR}/bin/pg_config}"
log "server is PostgreSQL ${PG_MAJOR} (server_version_num=${ver_num})"

# --- temp area (traversable by apt's unprivileged _apt user) -------------------
TMP="$(mktemp -d /tmp/install-pgvector.XXXXXX)"
chmod 755 "$TMP"
LOG="$TMP/build.log"
KEEP_TMP="${KEEP_TMP:-0}"   # set KEEP_TMP=1 to keep the temp dir (and its build.log) for debugging
cleanup() {
  rc=$?
  if [ "$rc" -ne 0 ]; then
    printf '[install-pgvector] FAILED (exit %s); last lines of its build log:\n' "$rc" >&2
    tail -n 40 "$LOG" >&2 2>/dev/null || true
  fi
  [ "$KEEP_TMP" = 1 ] || rm -rf "$TMP"
  exit "$rc"
}
trap cleanup EXIT

run() { # run a noisy command, output to the log
  printf '\n+ %s\n' "$*" >>"$LOG"
  "$@" >>"$LOG" 2>&1
}

# --- mirror detection -----------------------------------------------------------
# Print "URI SUITE COMPONENTS..." for every enabled deb/deb-src entry apt knows about,
# from both one-line .list files and deb822 .sources files.
list_apt_entries() {
  local f
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    sed -e 's/#.*//' -e 's/\[[^]]*\]//g' "$f" \
      | awk '($1=="deb" || $1=="deb-src") && NF>=3 { $1=""; sub(/^ +/, ""); print }'
  done
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    awk '
      function flush(   nu, ns, u, s, i, j) {
        if (uris != "" && suites != "" && enabled != "no" && types ~ /(^| )deb(-src)?( |$)/) {
          nu = split(uris, u, " "); ns = split(suites, s, " ")
          for (i = 1; i <= nu; i++) for (j = 1; j <= ns; j++) print u[i], s[j], comps
        }
        uris = ""; suites = ""; comps = ""; types = ""; enabled = ""; field = ""
      }
      /^[ \t]*#/ { next }
      /^[ \t]*$/ { flush(); next }
      /^[ \t]/   { if (field == "uris") uris = uris " " $0; else if (field == "suites") suites = suites " " $0; next }
      {
        key = tolower($0); sub(/:.*/, "", key)
        val = $0; sub(/^[^:]*:[ \t]*/, "", val)
        field = key
        if (key == "uris") uris = val
        else if (key == "suites") suites = val
        else if (key == "components") comps = val
        else if (key == "types") types = val
        else if (key == "enabled") enabled = tolower(val)
      }
      END { flush() }
    ' "$f" | tr -s ' \t' '  '
  done
}

# Candidate mirrors, best first: entries for the machine's own release suite
# (e.g. "bookworm" or "stable") with component "main", excluding security mirrors.
candidate_mirrors() {
  local codename=""
  # shellcheck disable=SC1091
  codename="$(. /etc/os-release && echo "${VERSION_CODENAME:-}")"
  list_apt_entries | awk -v cn="$codename" '
    $1 ~ /security/ || $2 ~ /security/ { next }
    {
      main = 0; for (i = 3; i <= NF; i++) if ($i == "main") main = 1
      if (!main) next
      rank = ($2 == cn || $2 == "stable") ? 0 : ($2 ~ ("^" cn "-") ? 1 : 2)
      print rank, $1
    }' | sort -s -k1,1n | awk '!seen[$2]++ { print $2 }'
}

if [ -n "${DEBIAN_MIRROR:-}" ]; then
  mirrors="$DEBIAN_MIRROR"
else
  mirrors="$(candidate_mirrors)"
fi
[ -n "$mirrors" ] || die "could not find a Debian mirror in /etc/apt/sources.list{,.d/*} (set DEBIAN_MIRROR)"

# --- fetch the pgvector source package from $SUITE ---------------------------------
mkdir -p "$TMP/lists/partial" "$TMP/cache/archives/partial" "$TMP/src"
SRCLIST="$TMP/pgvector-src.list"
APT_PRIVATE=(
  -o "Dir::Etc::SourceList=$SRCLIST"
  -o "Dir::Etc::SourceParts=/dev/null"
  -o "Dir::State::Lists=$TMP/lists"
  -o "Dir::Cache=$TMP/cache"
)

mirror=""
for m in $mirrors; do
  m="${m%/}"
  log "trying Debian mirror $m for '$SUITE' sources"
  echo "deb-src $m $SUITE main" >"$SRCLIST"
  rm -rf "$TMP/lists"; mkdir -p "$TMP/lists/partial"
  if run apt-get "${APT_PRIVATE[@]}" --error-on=any update \
     && grep -qs '^Origin: Debian$' "$TMP"/lists/*_dists_"${SUITE}"_InRelease; then
    mirror="$m"
    break
  fi
  log "  -> not usable (see log)"
done
[ -n "$mirror" ] || die "no usable Debian mirror for '$SUITE' sources"

chown _apt "$TMP/src" 2>/dev/null || true   # let apt download without the unsandboxed-root warning
(cd "$TMP/src" && run apt-get "${APT_PRIVATE[@]}" source --download-only pgvector)
dsc="$(ls "$TMP"/src/pgvector_*.dsc 2>/dev/null | head -n1)"
[ -n "$dsc" ] || die "pgvector .dsc not downloaded"
log "downloaded $(basename "$dsc") (verified via the signed ${SUITE} InRelease)"

# --- build dependencies ---------------------------------------------------------------
need=()
dpkg-query -W -f='${Status}' "postgresql-server-dev-${PG_MAJOR}" 2>/dev/null | grep -q 'ok installed' \
  || need+=("postgresql-server-dev-${PG_MAJOR}")
dpkg-query -W -f='${Status}' build-essential 2>/dev/null | grep -q 'ok installed' || need+=(build-essential)
command -v dpkg-source >/dev/null || need+=(dpkg-dev)
if [ "${#need[@]}" -gt 0 ]; then
  log "installing ${need[*]}"
  run apt-get update
  run env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${need[@]}"
fi
[ -x "$PG_CONFIG" ] || die "pg_config not found at $PG_CONFIG"

# --- unpack, build, install ----------------------------------------------------------
# dpkg-source warns that it cannot verify the .dsc signature (no debian-keyring
# installed); integrity is already guaranteed by apt's hash check against the
# signed InRelease, so that warning is harmless.
(cd "$TMP/src" && run dpkg-source -x "$(basename "$dsc")" build)
start=$(date +%s)
log "building pgvector against $PG_CONFIG"
(cd "$TMP/src/build" \
  && run make PG_CONFIG="$PG_CONFIG" with_llvm=no OPTFLAGS="" \
  && run make PG_CONFIG="$PG_CONFIG" with_llvm=no install)
log "build + install took $(( $(date +%s) - start ))s"

# --- verify ---------------------------------------------------------------------------
vector_available || die "vector still not listed in pg_available_extensions after install"
log "pgvector $(psql_su -c "select default_version from pg_available_extensions where name='vector'") is now available to PostgreSQL ${PG_MAJOR}"
