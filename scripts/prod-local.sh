#!/usr/bin/env bash
# Dagster's production shape on one machine: the instance on PostgreSQL (deploy/dagster.yaml),
# the code location in its own server, the webserver and the daemon as separate processes, runs
# through the queue. The target is your environment's (COFFEE_TARGET, local by default).
#
#   bash scripts/prod-local.sh              # all of it; the UI on http://127.0.0.1:3000; Ctrl-C stops all
#   bash scripts/prod-local.sh postgres     # one part at a time, each in its own terminal:
#   bash scripts/prod-local.sh code-server  #   restart the code server alone to load new code,
#   bash scripts/prod-local.sh webserver    #   the webserver or the daemon alone to see that
#   bash scripts/prod-local.sh daemon       #   nothing lives in them (it is all in PostgreSQL)
#   bash scripts/prod-local.sh watchdog     #   watches the code server (below)
#
# Ports: COFFEE_PG_PORT (55432), COFFEE_CODE_SERVER_PORT (4266), COFFEE_WEB_PORT (3000).
# PostgreSQL's cluster lives in COFFEE_PG_DIR ($COFFEE_DATA_DIR/postgres), with the password of
# the role Dagster connects as (dagster_app) in its file dagster.pw (scripts/local-postgres.sh);
# the instance folder (DAGSTER_HOME: compute logs, the instance file) is
# $COFFEE_DATA_DIR/dagster_home_prod.
#
# The watchdog asks the code server's inner process (the `dagster api grpc` that
# `dagster code-server start` runs and reloads) for a ping every COFFEE_WATCHDOG_SECONDS (5). When
# it does not answer twice running, the watchdog fails the runs whose process has died and frees
# their pool slots (the run_health sensor cannot: the daemon evaluates sensors in the code
# server), and has the code server start a new inner process, as the UI's Reload does. While
# the code server does not answer at all, it keeps failing such runs. In `all`, a code server
# that exits is started again, at most 3 times in 10 minutes; any other part that exits, or a
# fourth code server exit, stops everything.
set -euo pipefail
# Started with Ctrl-C and kill ignored (under nohup, or as a background job of another script),
# a shell cannot trap them, and nothing would stop PostgreSQL: start again with their default
# handling, so that the traps below hold however this script was started.
if [ -z "${PROD_LOCAL_SIGNALS:-}" ]; then
    PROD_LOCAL_SIGNALS=default exec env --default-signal=INT,TERM bash "$0" "$@"
fi
cd "$(dirname "${BASH_SOURCE[0]}")/.."
part="${1:-all}"
source scripts/setup.sh
# The settings checked first (an error is one line naming the variable), and the data folder.
data_dir="$(coffee-settings --data-dir)" || exit 1
bash scripts/install-postgres.sh

pg_dir="${COFFEE_PG_DIR:-$data_dir/postgres}"
pg_port="${COFFEE_PG_PORT:-55432}"
code_port="${COFFEE_CODE_SERVER_PORT:-4266}"
web_port="${COFFEE_WEB_PORT:-3000}"

# The production instance file, and the workspace pointing at the code server's port.
export DAGSTER_HOME="$data_dir/dagster_home_prod"
mkdir -p "$DAGSTER_HOME"
cp deploy/dagster.yaml "$DAGSTER_HOME/dagster.yaml"
if [ "${COFFEE_TARGET:-local}" = gcp ]; then  # compute logs in the gcp target's bucket
    cat deploy/compute-logs-gcs.yaml >> "$DAGSTER_HOME/dagster.yaml"
fi
sed "s/port: 4266/port: $code_port/" deploy/workspace.yaml > "$DAGSTER_HOME/workspace.yaml"
# deploy/dagster.yaml reads the connection from these: the local cluster's database `dagster`,
# as its owner dagster_app, whose password the cluster's folder keeps (environment only, never
# a command line).
export DAGSTER_PG_HOST=127.0.0.1 DAGSTER_PG_PORT="$pg_port" DAGSTER_PG_USER=dagster_app \
    DAGSTER_PG_DB=dagster
pg_password() {
    if [ ! -s "$pg_dir/dagster.pw" ]; then
        echo "$pg_dir/dagster.pw is missing: start PostgreSQL first (bash scripts/prod-local.sh" \
            "postgres, or bash scripts/prod-local.sh for everything)" >&2
        exit 1
    fi
    DAGSTER_PG_PASSWORD="$(cat "$pg_dir/dagster.pw")"
    export DAGSTER_PG_PASSWORD
}
# Each step's materializations in one insert on PostgreSQL (docs/performance.md).
export DAGSTER_EVENT_BATCH_SIZE="${DAGSTER_EVENT_BATCH_SIZE:-1000}"
workspace=(-w "$DAGSTER_HOME/workspace.yaml")
# Each server with the default SIGINT and SIGTERM handling even when started from a script (a
# script's background job ignores SIGINT, and Dagster's servers then ignore SIGTERM too).
run=(exec env --default-signal=INT,TERM)

case "$part" in
postgres)
    # The traps first: a Ctrl-C while the server starts stops it too.
    sleeper=
    trap 'kill "$sleeper" 2>/dev/null || true; bash scripts/local-postgres.sh stop "$pg_dir"' EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    bash scripts/local-postgres.sh start "$pg_dir" "$pg_port"
    echo "Ctrl-C stops PostgreSQL. By hand:" \
        "PGPASSWORD=\"\$(cat \"$pg_dir/dagster.pw\")\" psql -h 127.0.0.1 -p $pg_port -U dagster_app -d dagster"
    # Waits in the background (a trap runs at once, not after a foreground sleep), and the trap
    # ends the sleep: it ignores Ctrl-C, as a script's background job does.
    sleep infinity &
    sleeper=$!
    wait "$sleeper"
    ;;
code-server)
    pg_password
    "${run[@]}" dagster code-server start -m coffee_assets.definitions --location-name coffee_assets \
        -h 127.0.0.1 -p "$code_port"
    ;;
webserver)
    pg_password
    "${run[@]}" dagster-webserver "${workspace[@]}" -h 127.0.0.1 -p "$web_port"
    ;;
daemon)
    pg_password
    # The warehouse pool's limit, set on a new instance before the daemon's queue first meets it
    # (Dagster creates a pool from default_limit only then, and in that pass does not hold it:
    # deploy/dagster.yaml); a limit already set, by hand or earlier, stays.
    python -c 'import dagster as dg
from coffee_assets.operations.dagster_internals import set_pool_limit_if_new
from coffee_assets.platform.target import target_of
from coffee_assets.settings import current_settings
pool = target_of(current_settings()).pool
if set_pool_limit_if_new(dg.DagsterInstance.get(), pool, 1):
    print(f"The {pool} pool: one run at a time (dagster instance concurrency set {pool} N)")'
    "${run[@]}" dagster-daemon run "${workspace[@]}"
    ;;
watchdog)
    pg_password
    "${run[@]}" python -m coffee_assets.operations.watchdog "$code_port" "${COFFEE_WATCHDOG_SECONDS:-5}"
    ;;
all)
    bash scripts/local-postgres.sh start "$pg_dir" "$pg_port"
    pg_password
    declare -A pid_of=()
    groups=()  # every part's process group ever started (set -m below: its pid is the group's)
    signal_all() {
        for pid in "${groups[@]}"; do kill "-$1" -- "-$pid" 2>/dev/null || true; done
    }
    any_alive() {
        for pid in "${groups[@]}"; do kill -0 -- "-$pid" 2>/dev/null && return 0; done
        return 1
    }
    stop() {
        trap - EXIT INT TERM
        signal_all TERM
        for _ in $(seq 30); do  # a graceful stop, then no more waiting
            any_alive || break
            sleep 1
        done
        signal_all KILL
        bash scripts/local-postgres.sh stop "$pg_dir"
    }
    trap stop EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    start_part() {
        bash "$0" "$1" &
        pid_of[$1]=$!
        groups+=($!)
    }
    code_server_answers() {  # within 2 minutes, or the code server's part exited
        for _ in $(seq 120); do
            # The proxy opens its port once its inner server is up: a connect costs nothing,
            # the health check a process start (1.3 s of CPU), so it is asked only then.
            if (: >"/dev/tcp/127.0.0.1/$code_port") 2>/dev/null &&
                dagster api grpc-health-check -h 127.0.0.1 -p "$code_port" >/dev/null 2>&1; then
                return 0
            fi
            kill -0 "${pid_of[code-server]}" 2>/dev/null || return 1
            sleep 1
        done
        return 1
    }
    set -m  # each part in its own process group: Ctrl-C reaches this script, which stops them
    start_part code-server
    # The webserver and the daemon once the code server answers (else they log its absence).
    code_server_answers || exit 1
    for p in webserver daemon watchdog; do
        start_part "$p"
    done
    echo "Dagster on PostgreSQL: the UI on http://127.0.0.1:$web_port (code server :$code_port," \
        "PostgreSQL :$pg_port). Ctrl-C stops everything."
    restarts=()
    while true; do
        status=0 ended= ended_part=
        wait -n -p ended "${pid_of[@]}" || status=$?
        for p in "${!pid_of[@]}"; do
            [ "${pid_of[$p]}" != "$ended" ] || ended_part=$p
        done
        now=$(date +%s)
        recent=()
        for t in "${restarts[@]}"; do
            [ $((now - t)) -ge 600 ] || recent+=("$t")
        done
        if [ "$ended_part" = code-server ] && [ ${#recent[@]} -lt 3 ]; then
            restarts=("${recent[@]}" "$now")
            echo "prod-local.sh: the code server exited (status $status); starting it again" \
                "(${#restarts[@]} of 3 restarts in 10 minutes). The watchdog fails the runs" \
                "that died with it." >&2
            # What is left of its process group (an inner server whose runs go on, when the
            # outer process alone died) ends by itself once they are done; stop() ends it too.
            start_part code-server
            continue
        fi
        # A half-running deployment helps nobody: any other part that exits takes all down.
        echo "prod-local.sh: the $ended_part exited (status $status): stopping everything." >&2
        exit 1
    done
    ;;
*)
    echo "unknown part $part: all, postgres, code-server, webserver, daemon or watchdog" >&2
    exit 2
    ;;
esac
