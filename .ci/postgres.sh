#!/usr/bin/env bash
# A PostgreSQL server for the test suite, from Debian's packages, run as the postgres user in a folder
# of its own (it leaves any system cluster alone), listening on 127.0.0.1 only.
#   .ci/postgres.sh start   install if needed, start (or reuse), create the role and database;
#                           prints the TEST_DATABASE_URL on its last line
#   .ci/postgres.sh status  exit 0 when that server is running
#   .ci/postgres.sh stop    stop it
set -euo pipefail
PGROOT=${PGROOT:-/var/tmp/compliance-engine-ci-pg}
PGPORT=${PGPORT:-55439}
DB_USER=${DB_USER:-compliance}
DB_PASSWORD=${DB_PASSWORD:-compliance-test}
DB_NAME=${DB_NAME:-compliance_test}

pgbin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1; }

as_postgres() { runuser -u postgres -- "$@"; }

case "${1:-start}" in
start)
    if [ -z "$(pgbin)" ]; then
        echo "installing postgresql from Debian's packages" >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
    fi
    BIN=$(pgbin)
    install -d -o postgres -g postgres -m 0700 "$PGROOT"
    if [ ! -s "$PGROOT/data/PG_VERSION" ]; then
        as_postgres "$BIN/initdb" -D "$PGROOT/data" -U postgres --auth-local=peer --auth-host=scram-sha-256 \
            --encoding=UTF8 --locale=C.UTF-8 >"$PGROOT/initdb.log" 2>&1 || { cat "$PGROOT/initdb.log" >&2; exit 1; }
    fi
    if ! as_postgres "$BIN/pg_ctl" -D "$PGROOT/data" status >/dev/null 2>&1; then
        # a test database: durability traded for speed
        as_postgres "$BIN/pg_ctl" -D "$PGROOT/data" -l "$PGROOT/server.log" -w -t 60 start \
            -o "-c listen_addresses=127.0.0.1 -p $PGPORT -k $PGROOT -c fsync=off -c synchronous_commit=off -c full_page_writes=off" >&2 \
            || { tail -30 "$PGROOT/server.log" >&2; exit 1; }
    fi
    psql_() { as_postgres "$BIN/psql" -h "$PGROOT" -p "$PGPORT" -U postgres -d postgres -v ON_ERROR_STOP=1 -qtA "$@"; }
    if [ "$(psql_ -c "SELECT 1 FROM pg_roles WHERE rolname = '$DB_USER'")" != 1 ]; then
        psql_ -c "CREATE ROLE $DB_USER LOGIN PASSWORD '$DB_PASSWORD'" >&2
    fi
    if [ "$(psql_ -c "SELECT 1 FROM pg_database WHERE datname = '$DB_NAME'")" != 1 ]; then
        psql_ -c "CREATE DATABASE $DB_NAME OWNER $DB_USER" >&2
    fi
    echo "postgresql://$DB_USER:$DB_PASSWORD@127.0.0.1:$PGPORT/$DB_NAME"
    ;;
status)
    BIN=$(pgbin)
    [ -n "$BIN" ] && [ -s "$PGROOT/data/PG_VERSION" ] && as_postgres "$BIN/pg_ctl" -D "$PGROOT/data" status >/dev/null 2>&1
    ;;
stop)
    BIN=$(pgbin)
    if [ -n "$BIN" ] && [ -s "$PGROOT/data/PG_VERSION" ]; then
        as_postgres "$BIN/pg_ctl" -D "$PGROOT/data" -m fast -w stop >&2 || true
    fi
    ;;
*)
    echo "usage: $0 start|status|stop" >&2; exit 2 ;;
esac
