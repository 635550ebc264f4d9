#!/usr/bin/env bash
# A local PostgreSQL server from Debian's packages, for the production shape on one machine
# (scripts/prod-local.sh) and its tests. `start DIR PORT` creates the cluster in DIR/data when
# missing, listens on 127.0.0.1:PORT only and returns when the database `dagster` accepts its
# owner; `stop DIR` stops it.
#
# Nobody else on the machine gets in: every connection needs a password (scram-sha-256, also on
# the Unix socket), and the folder DIR is its owner's alone (mode 700). Two roles:
#   pgadmin      the cluster's superuser; its password in DIR/admin.pw (made once, mode 600)
#   dagster_app  owns the database `dagster` and nothing else (no superuser, no CREATEDB, no
#                CREATEROLE): what Dagster connects as; its password in DIR/dagster.pw
# The passwords are random, written once into those files and never put on a command line:
# initdb reads its file, psql takes a password from its environment (PGPASSWORD) and the role's
# password in SQL on its standard input. To connect by hand:
#   PGPASSWORD="$(cat DIR/dagster.pw)" psql -h 127.0.0.1 -p PORT -U dagster_app -d dagster
#
# A cluster made by earlier versions of this script (trust authentication: anyone on the
# machine could connect as the superuser `dagster`, with any password) is converted on its next
# start, history kept: password authentication, the admin pgadmin, its tables handed to
# dagster_app, and the old role `dagster` can no longer log in.
#
# PostgreSQL refuses to run as root: as root the server runs as the `postgres` user, which owns
# DIR; the scripts (root) still read the password files.
set -euo pipefail
action="${1:?usage: local-postgres.sh start DIR PORT | stop DIR}"
dir="$(mkdir -p "${2:?the cluster folder}" && cd "$2" && pwd)"
bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
if [ -z "$bin" ]; then
    echo "PostgreSQL is missing: bash scripts/install-postgres.sh (apt-get install postgresql)" >&2
    exit 1
fi
ADMIN=pgadmin
APP=dagster_app
OLD_SUPERUSER=dagster  # the trust clusters' superuser
admin_pw="$dir/admin.pw"
app_pw="$dir/dagster.pw"
chmod 700 "$dir"
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

new_password() {  # FILE: a random password (32 letters, digits, - and _), readable by its owner only
    (umask 077 && head -c 24 /dev/urandom | base64 | tr '+/' '-_' >"$1")
}

admin_psql() {  # psql as the admin, the password from the environment, SQL on stdin
    PGPASSWORD="$(cat "$admin_pw")" "$bin/psql" -h 127.0.0.1 -p "$port" -U "$ADMIN" \
        -v ON_ERROR_STOP=1 -qAt -X "$@"
}

secure_trust_cluster() {
    # The old cluster lets anyone in as the superuser `dagster`: make the admin (with a password)
    # through that door, then close it (pg_hba.conf) and take the login from `dagster`.
    echo "PostgreSQL cluster $dir/data uses trust authentication (made by an earlier" \
        "local-postgres.sh): converting it to password authentication, its history kept."
    [ -s "$admin_pw" ] || new_password "$admin_pw"
    "$bin/psql" -h 127.0.0.1 -p "$port" -U "$OLD_SUPERUSER" -d postgres -v ON_ERROR_STOP=1 -qAt -X <<SQL
select 'create role $ADMIN superuser login' where not exists (select from pg_roles where rolname = '$ADMIN')
\gexec
alter role $ADMIN with superuser login password '$(cat "$admin_pw")';
SQL
    local hba
    hba="$(mktemp "$dir/pg_hba.XXXXXX")"
    printf '%s\n' "# Every connection with a password (scripts/local-postgres.sh)." \
        "local all all scram-sha-256" "host all all 127.0.0.1/32 scram-sha-256" \
        "host all all ::1/128 scram-sha-256" >"$hba"
    chmod 600 "$hba"
    [ ${#as_owner[@]} -eq 0 ] || chown postgres "$hba"
    mv "$hba" "$dir/data/pg_hba.conf"
    "${as_owner[@]}" "$bin/pg_ctl" -D "$dir/data" reload >/dev/null
}

case "$action" in
start)
    port="${3:?the port}"
    if [ ! -f "$dir/data/PG_VERSION" ]; then
        new_password "$admin_pw"
        [ ${#as_owner[@]} -eq 0 ] || chown postgres "$admin_pw"  # initdb, as postgres, reads it
        "${as_owner[@]}" "$bin/initdb" -D "$dir/data" -U "$ADMIN" --pwfile="$admin_pw" \
            --auth-local=scram-sha-256 --auth-host=scram-sha-256 -E UTF8 >"$dir/initdb.log"
    fi
    # -k: the Unix socket in the cluster folder (not /var/run/postgresql); TCP on loopback only.
    if ! "${as_owner[@]}" "$bin/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
        "${as_owner[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
            -o "-p $port -k $dir -c listen_addresses=127.0.0.1" start >/dev/null
    fi
    if grep -Eq '^[[:space:]]*[^#[:space:]].*[[:space:]]trust([[:space:]]|$)' "$dir/data/pg_hba.conf"; then
        secure_trust_cluster
    fi
    if [ ! -s "$admin_pw" ]; then
        echo "$admin_pw (the password of the cluster's admin $ADMIN) is missing: the cluster in" \
            "$dir cannot be set up. Move $dir aside to start with a new, empty one." >&2
        exit 1
    fi
    [ -s "$app_pw" ] || new_password "$app_pw"
    # The application's role and database, made or repaired on every start (cheap): the role's
    # password is the file's, the database and everything in it the role's.
    admin_psql -d postgres <<SQL
select 'create role $APP' where not exists (select from pg_roles where rolname = '$APP')
\gexec
alter role $APP with login nosuperuser nocreatedb nocreaterole noreplication nobypassrls
    password '$(cat "$app_pw")';
select 'create database dagster owner $APP' where not exists (select from pg_database where datname = 'dagster')
\gexec
alter database dagster owner to $APP;
select 'alter role $OLD_SUPERUSER nologin' from pg_roles where rolname = '$OLD_SUPERUSER' and rolcanlogin
\gexec
SQL
    # Tables a trust cluster's superuser made (Dagster's, before the conversion) to the owner
    # (sequences and indexes follow their tables; a sequence of its own is handed over alone).
    admin_psql -d dagster <<SQL
select format('alter table %s owner to $APP', c.oid::regclass) from pg_class c
  join pg_namespace n on n.oid = c.relnamespace
  where c.relkind in ('r', 'p', 'v', 'm') and n.nspname = 'public' and pg_get_userbyid(c.relowner) <> '$APP'
\gexec
select format('alter sequence %s owner to $APP', c.oid::regclass) from pg_class c
  join pg_namespace n on n.oid = c.relnamespace
  where c.relkind = 'S' and n.nspname = 'public' and pg_get_userbyid(c.relowner) <> '$APP'
\gexec
SQL
    echo "PostgreSQL on 127.0.0.1:$port (cluster $dir/data, log $dir/server.log; database" \
        "dagster, role $APP, password in $app_pw)"
    ;;
stop)
    if [ -f "$dir/data/postmaster.pid" ]; then
        # A server already shutting down (Ctrl-C reaches it too) may be gone before pg_ctl looks.
        # Up to five minutes: a busy machine's shutdown checkpoint can take longer than
        # pg_ctl's default minute, and a stop that gives up leaves the server running.
        "${as_owner[@]}" "$bin/pg_ctl" -D "$dir/data" -m fast -w -t 300 stop >/dev/null 2>&1 ||
            ! "${as_owner[@]}" "$bin/pg_ctl" -D "$dir/data" status >/dev/null 2>&1
    fi
    ;;
*)
    echo "unknown action $action: start or stop" >&2
    exit 2
    ;;
esac
