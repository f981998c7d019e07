#!/usr/bin/env bash
# Make sure PostgreSQL and Redis answer and the Strata database exists, on the project's
# machines (no Docker: both run natively on loopback). Users with Docker can use
# infra/docker-compose.yml instead; this script then only checks and creates the database.
#
#   services.sh [ensure]   check PostgreSQL + Redis, start local ones if down, create the database
#   services.sh status     only report whether each answers (exit 1 if one does not)
#
# Environment: DATABASE_URL (default postgres://postgres@127.0.0.1:5432/strata),
#              REDIS_URL (default redis://127.0.0.1:6379). Only host, port, user, password and
#              database name are read from them (parsed simply; no query parameters honoured).
set -euo pipefail

say() { printf 'services: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

readonly DATABASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/strata}"
readonly REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379}"
readonly WAIT_SECONDS=30

# --- parse the URLs -----------------------------------------------------------------------------
# scheme://[user[:password]@]host[:port][/path][?query]   (IPv6 literals in [..] are accepted)
url_re='^[a-zA-Z][a-zA-Z0-9+.-]*://(([^:@/]*)(:([^@/]*))?@)?(\[[^]]+\]|[^:/?]+)(:([0-9]+))?(/([^?]*))?'

[[ "$DATABASE_URL" =~ $url_re ]] || die "cannot parse DATABASE_URL='$DATABASE_URL'"
PG_USER="${BASH_REMATCH[2]:-postgres}"
PG_PASSWORD="${BASH_REMATCH[4]:-}"
PG_HOST="${BASH_REMATCH[5]}"
PG_PORT="${BASH_REMATCH[7]:-5432}"
PG_DB="${BASH_REMATCH[9]:-strata}"
PG_HOST="${PG_HOST#[}"; PG_HOST="${PG_HOST%]}"
[[ "$PG_HOST" == localhost ]] && PG_HOST=127.0.0.1
readonly PG_USER PG_PASSWORD PG_HOST PG_PORT PG_DB

[[ "$REDIS_URL" =~ $url_re ]] || die "cannot parse REDIS_URL='$REDIS_URL'"
REDIS_PASSWORD="${BASH_REMATCH[4]:-}"
REDIS_HOST="${BASH_REMATCH[5]}"
REDIS_PORT="${BASH_REMATCH[7]:-6379}"
REDIS_HOST="${REDIS_HOST#[}"; REDIS_HOST="${REDIS_HOST%]}"
[[ "$REDIS_HOST" == localhost ]] && REDIS_HOST=127.0.0.1
readonly REDIS_PASSWORD REDIS_HOST REDIS_PORT

# libpq reads the password from the environment; never put it on a command line (ps shows it).
if [[ -n "$PG_PASSWORD" ]]; then export PGPASSWORD="$PG_PASSWORD"; fi
if [[ -n "$REDIS_PASSWORD" ]]; then export REDISCLI_AUTH="$REDIS_PASSWORD"; fi

# We only ever start services on this machine, never "fix" a remote one.
is_loopback() { [[ "$1" == 127.* || "$1" == ::1 ]]; }

# --- probes -------------------------------------------------------------------------------------
pg_up() {
  command -v pg_isready >/dev/null || return 1
  pg_isready -q -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" -t 2
}

redis_up() {
  command -v redis-cli >/dev/null || return 1
  [[ "$(timeout 3 redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" ping 2>/dev/null)" == PONG ]]
}

wait_for() { # name probe-function
  local deadline=$((SECONDS + WAIT_SECONDS))
  until "$2"; do
    ((SECONDS < deadline)) || return 1
    sleep 0.5
  done
}

# --- start local services (the commands used on the project's machines) -----------------------
start_postgres() {
  local version
  # The Debian cluster layout is /etc/postgresql/<version>/main; take the newest version.
  version="$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n 1)"
  [[ -n "$version" ]] || return 1
  say "PostgreSQL not answering on $PG_HOST:$PG_PORT — starting cluster $version/main"
  # --skip-systemctl-redirect: there is no systemd on these machines.
  pg_ctlcluster --skip-systemctl-redirect "$version" main start >/dev/null 2>&1 || true
  wait_for PostgreSQL pg_up
}

start_redis() {
  say "Redis not answering on $REDIS_HOST:$REDIS_PORT — starting redis-server"
  mkdir -p /var/lib/redis /var/log/redis
  # Nothing kept on disk (--save "" --appendonly no): Redis only holds rebuildable projections.
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port "$REDIS_PORT" --save "" \
    --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log >/dev/null 2>&1 || true
  wait_for Redis redis_up
}

ensure_postgres() {
  pg_up && return 0
  command -v pg_isready >/dev/null \
    || die "PostgreSQL client tools missing: apt-get install postgresql-client-15 (or run: docker compose -f infra/docker-compose.yml up -d)"
  if is_loopback "$PG_HOST" && [[ "$PG_PORT" == 5432 ]] && command -v pg_ctlcluster >/dev/null \
      && start_postgres; then
    return 0
  fi
  die "PostgreSQL does not answer on $PG_HOST:$PG_PORT — start it (pg_ctlcluster --skip-systemctl-redirect 15 main start, or: docker compose -f infra/docker-compose.yml up -d postgres) or set DATABASE_URL"
}

ensure_redis() {
  redis_up && return 0
  command -v redis-cli >/dev/null \
    || die "redis-cli missing: apt-get install redis-tools (or run: docker compose -f infra/docker-compose.yml up -d)"
  if is_loopback "$REDIS_HOST" && command -v redis-server >/dev/null && start_redis; then
    return 0
  fi
  die "Redis does not answer on $REDIS_HOST:$REDIS_PORT — start it (redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save '' --appendonly no, or: docker compose -f infra/docker-compose.yml up -d redis) or set REDIS_URL"
}

ensure_database() {
  command -v psql >/dev/null || die "psql missing: apt-get install postgresql-client-15"
  local exists
  # psql variables (:'db' / :"db") quote the name safely; they are only expanded in scripts read
  # from stdin, not in -c, hence the here-strings. Connect to the maintenance db 'postgres'.
  exists="$(psql -X -q -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" -d postgres -v ON_ERROR_STOP=1 \
    -v db="$PG_DB" -tA <<<"select 1 from pg_database where datname = :'db';")" \
    || die "cannot query PostgreSQL at $PG_HOST:$PG_PORT as $PG_USER (check DATABASE_URL credentials)"
  [[ "$exists" == 1 ]] && return 0
  say "creating database $PG_DB"
  psql -X -q -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" -d postgres -v ON_ERROR_STOP=1 \
    -v db="$PG_DB" <<<'create database :"db";' >/dev/null \
    || die "could not create database $PG_DB (does $PG_USER have CREATEDB?)"
}

cmd_ensure() {
  ensure_postgres
  ensure_redis
  ensure_database
  say "ready: PostgreSQL $PG_HOST:$PG_PORT/$PG_DB, Redis $REDIS_HOST:$REDIS_PORT"
}

cmd_status() {
  local rc=0
  if pg_up; then echo "postgresql $PG_HOST:$PG_PORT: up"; else echo "postgresql $PG_HOST:$PG_PORT: down"; rc=1; fi
  if redis_up; then echo "redis $REDIS_HOST:$REDIS_PORT: up"; else echo "redis $REDIS_HOST:$REDIS_PORT: down"; rc=1; fi
  return "$rc"
}

case "${1:-ensure}" in
  ensure) cmd_ensure ;;
  status) cmd_status ;;
  *) printf 'usage: %s [ensure|status]\n' "$0" >&2; exit 2 ;;
esac
