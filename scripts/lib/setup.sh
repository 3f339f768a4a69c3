# Shared set-up for ./scripts/run, ./scripts/test and ./scripts/bench.
# Each step is idempotent and quick when its work is already done, so every command may call all of them.
# Source this file; it defines functions and never runs anything by itself.

set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VAR="$ROOT/var"
VENV="$ROOT/.venv"
CSMAP_PGPORT="${CSMAP_PGPORT:-54329}"
DB_ROLE="csmap"
APP_DB_ROLE="csmap_app"  # models/security.py APP_ROLE

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"
  elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then sudo "$@"
  else return 1
  fi
}

pg_bindir() {
  local dir
  dir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
  [ -n "$dir" ] && echo "$dir"
}

# Installs the Debian/Ubuntu packages named in "$@" when any is missing.
apt_install() {
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  say "Installing system packages: ${missing[*]}"
  if ! as_root true; then
    die "these system packages are missing and I cannot install them without root or sudo: ${missing[*]}
  Install them with: sudo apt-get install ${missing[*]}"
  fi
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# PostgreSQL with PostGIS, Python's venv, Node.js for the front-end assets; chromium only for tests.
ensure_system_packages() {
  local wanted=(postgresql postgresql-contrib python3-venv ca-certificates)
  command -v npm >/dev/null || wanted+=(nodejs npm)
  [ "${WITH_BROWSER:-0}" = 1 ] && wanted+=(chromium fonts-dejavu-core)
  apt_install "${wanted[@]}"
  local major
  major="$(basename "$(dirname "$(pg_bindir)")")"
  apt_install "postgresql-$major-postgis-3"
}

python_bin() {
  for candidate in python3.11 python3.12 python3.13 python3; do
    if command -v "$candidate" >/dev/null &&
       "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
      command -v "$candidate"; return 0
    fi
  done
  die "Python 3.11 or newer is needed (apt-get install python3)"
}

# Reruns $2.. only when the checksum of the files named in $1 changed since the last success.
when_changed() {
  local inputs="$1" stamp="$2"; shift 2
  local sum; sum="$(cd "$ROOT" && cat $inputs | sha256sum | cut -d' ' -f1)"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$sum" ]; then return 0; fi
  "$@"
  echo "$sum" > "$stamp"
}

install_python_packages() {
  say "Installing Python packages into .venv"
  [ -x "$VENV/bin/python" ] || "$(python_bin)" -m venv "$VENV"
  quiet_pip install --upgrade pip
  quiet_pip install -c "$ROOT/requirements.lock" -e "$ROOT[dev]"
}

# pip, without the warnings some machines' pip configuration prints for every package.
quiet_pip() {
  "$VENV/bin/pip" -q "$@" 2> >(grep -v -e "is ignored: it is neither a file nor a directory" >&2)
}

ensure_venv() {
  mkdir -p "$VAR"
  [ -x "$VENV/bin/python" ] || rm -f "$VAR/.venv.stamp"
  when_changed "pyproject.toml requirements.lock" "$VAR/.venv.stamp" install_python_packages
}

install_front_end_assets() {
  say "Installing front-end assets from the npm registry (package-lock.json)"
  (cd "$ROOT" && npm ci --no-audit --no-fund --loglevel=error)
  "$VENV/bin/python" "$ROOT/scripts/lib/vendor_assets.py"
}

ensure_assets() {
  [ -d "$ROOT/static/vendor" ] || rm -f "$VAR/.assets.stamp"
  when_changed "package-lock.json scripts/lib/vendor_assets.py" "$VAR/.assets.stamp" install_front_end_assets
}

# The project-local cluster. PostgreSQL refuses to run as root, so as root the cluster belongs to the
# `postgres` user; when that user cannot reach var/ (a clone inside a private folder), the data lives
# in a folder of its own under /var/lib/postgresql and var/postgres links to it. Sets CLUSTER_DIR.
locate_cluster() {
  CLUSTER_DIR="$VAR/postgres"
  [ "$(id -u)" -eq 0 ] || return 0
  if [ -L "$VAR/postgres" ]; then CLUSTER_DIR="$(readlink "$VAR/postgres")"; return 0; fi
  mkdir -p "$VAR/postgres"
  [ -f "$VAR/postgres/data/PG_VERSION" ] || chown postgres: "$VAR/postgres"
  if runuser -u postgres -- test -w "$VAR/postgres"; then return 0; fi
  rmdir "$VAR/postgres" || die "$VAR/postgres is not empty but the postgres user cannot reach it"
  CLUSTER_DIR="/var/lib/postgresql/csmap-$(echo "$ROOT" | sha256sum | cut -c1-12)"
  mkdir -p "$CLUSTER_DIR"; chown postgres: "$CLUSTER_DIR"; chmod 700 "$CLUSTER_DIR"
  ln -s "$CLUSTER_DIR" "$VAR/postgres"
}

as_cluster_owner() {
  # From / so that the postgres user is not left in a folder it may not enter.
  if [ "$(id -u)" -eq 0 ]; then (cd / && runuser -u postgres -- "$@"); else "$@"; fi
}

# The binaries of the cluster's own major version once it exists (a newer PostgreSQL installed
# later would refuse its data), the newest installed before that.
cluster_bindir() {
  if [ -f "$CLUSTER_DIR/data/PG_VERSION" ]; then
    echo "/usr/lib/postgresql/$(cat "$CLUSTER_DIR/data/PG_VERSION")/bin"
  else
    pg_bindir
  fi
}

ensure_cluster() {
  locate_cluster
  local bin; bin="$(cluster_bindir)"
  # Unix socket paths are limited to about 100 bytes, so the socket lives in a short folder of its
  # own rather than inside a clone whose path may be long.
  CLUSTER_SOCKET="/tmp/csmap-$(echo "$CLUSTER_DIR" | sha256sum | cut -c1-12)"
  if [ ! -f "$CLUSTER_DIR/data/PG_VERSION" ]; then
    say "Creating the PostgreSQL cluster in $CLUSTER_DIR (port $CSMAP_PGPORT)"
    as_cluster_owner mkdir -p "$CLUSTER_DIR/data"
    as_cluster_owner chmod 700 "$CLUSTER_DIR/data"
    # Trust on the Unix socket only: the socket folder is private to its owner (and root), and
    # TCP is switched off, so nothing else on the machine can connect.
    as_cluster_owner "$bin/initdb" -D "$CLUSTER_DIR/data" -U postgres --auth-local=trust --auth-host=reject \
      -E UTF8 --locale=C.UTF-8 >/dev/null
    cat <<CONF | as_cluster_owner tee -a "$CLUSTER_DIR/data/postgresql.conf" >/dev/null
listen_addresses = ''
port = $CSMAP_PGPORT
unix_socket_directories = '$CLUSTER_SOCKET'
shared_buffers = 512MB
work_mem = 32MB
maintenance_work_mem = 512MB
max_wal_size = 4GB
CONF
  fi
  if [ ! -d "$CLUSTER_SOCKET" ]; then
    mkdir -p "$CLUSTER_SOCKET"; chmod 700 "$CLUSTER_SOCKET"
    if [ "$(id -u)" -eq 0 ]; then chown postgres: "$CLUSTER_SOCKET"; fi
  fi
  if ! as_cluster_owner "$bin/pg_ctl" -D "$CLUSTER_DIR/data" status >/dev/null 2>&1; then
    say "Starting PostgreSQL on port $CSMAP_PGPORT"
    as_cluster_owner "$bin/pg_ctl" -D "$CLUSTER_DIR/data" -l "$CLUSTER_DIR/postgres.log" -w -t 60 start >/dev/null \
      || { tail -n 20 "$CLUSTER_DIR/postgres.log" >&2; die "PostgreSQL did not start (log above)"; }
  fi
  # $DB_ROLE owns the databases and migrates them; $APP_DB_ROLE is the web app's, owns nothing and
  # is held to row-level security (models/security.py).
  superuser_sql "DO \$\$ BEGIN
      IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$DB_ROLE') THEN
        CREATE ROLE $DB_ROLE LOGIN CREATEDB;
      END IF;
      IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$APP_DB_ROLE') THEN
        CREATE ROLE $APP_DB_ROLE LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
      END IF; END \$\$;"
  # So the owner can drop a test or benchmark database that the app's role is still connected to
  # (DROP DATABASE ... WITH (FORCE) ends those sessions).
  superuser_sql "DO \$\$ BEGIN
      IF NOT pg_has_role('$DB_ROLE', 'pg_signal_backend', 'MEMBER') THEN
        GRANT pg_signal_backend TO $DB_ROLE;
      END IF; END \$\$;"
}

superuser_sql() {
  psql -X -q -v ON_ERROR_STOP=1 -h "$CLUSTER_SOCKET" -p "$CSMAP_PGPORT" -U postgres -d postgres -c "$1"
}

# The URL of local database $1, as its owner or (with a second argument) as role $2.
local_database_url() {
  echo "postgresql+psycopg://${2:-$DB_ROLE}@/$1?host=$CLUSTER_SOCKET&port=$CSMAP_PGPORT"
}

# Creates database $1 owned by the app's role, with what needs a superuser: the extensions, and
# PostGIS's box overlap marked leakproof so that row-level security keeps the spatial indexes
# (migration b7d1e5a9c3f2 says why).
ensure_database() {
  local name="$1"
  if ! psql -X -tA -h "$CLUSTER_SOCKET" -p "$CSMAP_PGPORT" -U postgres -d postgres \
        -c "SELECT 1 FROM pg_database WHERE datname = '$name'" | grep -q 1; then
    superuser_sql "CREATE DATABASE $name OWNER $DB_ROLE"
  fi
  PGOPTIONS="-c client_min_messages=warning" \
    psql -X -q -v ON_ERROR_STOP=1 -h "$CLUSTER_SOCKET" -p "$CSMAP_PGPORT" -U postgres -d "$name" \
    -c "CREATE EXTENSION IF NOT EXISTS postgis; CREATE EXTENSION IF NOT EXISTS btree_gist;" \
    -c "ALTER FUNCTION geometry_overlaps(geometry, geometry) LEAKPROOF;"
}

# Migrations, then the UK postcodes (loaded once: about 2.7 million rows).
prepare_database() {
  local url="$1"
  (cd "$ROOT" && DATABASE_URL="$url" "$VENV/bin/alembic" upgrade head)
  (cd "$ROOT" && DATABASE_URL="$url" "$VENV/bin/python" -m models.postcode_loader)
}

# SECRET_KEY from the environment, or one made once for this clone and kept in var/ (its owner only).
ensure_secret_key() {
  if [ -z "${SECRET_KEY:-}" ]; then
    mkdir -p "$VAR"
    [ -s "$VAR/secret_key" ] || (umask 077 && "$VENV/bin/python" -c 'import secrets; print(secrets.token_hex(32))' > "$VAR/secret_key")
    SECRET_KEY="$(cat "$VAR/secret_key")"
  fi
  export SECRET_KEY
}
