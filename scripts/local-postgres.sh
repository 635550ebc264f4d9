#!/usr/bin/env bash
# A throwaway PostgreSQL server from Debian's packages, for the production shape on one machine
# (scripts/prod-local.sh) and its tests: `start DIR PORT` creates the cluster in DIR/data when
# missing (user dagster, trust authentication, database dagster), listens on 127.0.0.1:PORT only
# and returns when it accepts connections; `stop DIR` stops it. PostgreSQL refuses to run as
# root: as root the server runs as the `postgres` user, in a folder that user owns.
set -euo pipefail
action="${1:?usage: local-postgres.sh start DIR PORT | stop DIR}"
dir="$(mkdir -p "${2:?the cluster folder}" && cd "$2" && pwd)"
bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
if [ -z "$bin" ]; then
    echo "PostgreSQL is missing: bash scripts/install-postgres.sh (apt-get install postgresql)" >&2
    exit 1
fi
as_owner=()
if [ "$(id -u)" = 0 ]; then
    as_owner=(runuser -u postgres --)
    chown postgres "$dir"
    if ! runuser -u postgres -- test -w "$dir"; then
        echo "As root, PostgreSQL runs as the user postgres, which cannot reach $dir (a parent" \
            "folder is closed to other users): choose a folder it can reach, e.g. under /tmp." >&2
        exit 1
    fi
fi
case "$action" in
start)
    port="${3:?the port}"
    if [ ! -f "$dir/data/PG_VERSION" ]; then
        "${as_owner[@]}" "$bin/initdb" -D "$dir/data" -A trust -U dagster -E UTF8 >"$dir/initdb.log"
    fi
    # -k: the Unix socket in the cluster folder (not /var/run/postgresql); TCP on loopback only.
    if ! "${as_owner[@]}" "$bin/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
        "${as_owner[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
            -o "-p $port -k $dir -c listen_addresses=127.0.0.1" start >/dev/null
    fi
    if ! "$bin/psql" -h 127.0.0.1 -p "$port" -U dagster -d postgres -tAc \
        "select 1 from pg_database where datname = 'dagster'" | grep -q 1; then
        "$bin/psql" -h 127.0.0.1 -p "$port" -U dagster -d postgres -qc "create database dagster"
    fi
    echo "PostgreSQL on 127.0.0.1:$port (cluster $dir/data, log $dir/server.log)"
    ;;
stop)
    if [ -f "$dir/data/postmaster.pid" ]; then
        "${as_owner[@]}" "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null
    fi
    ;;
*)
    echo "unknown action $action: start or stop" >&2
    exit 2
    ;;
esac
