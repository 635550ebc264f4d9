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
#
# Ports: COFFEE_PG_PORT (55432), COFFEE_CODE_SERVER_PORT (4266), COFFEE_WEB_PORT (3000).
# PostgreSQL's cluster lives in COFFEE_PG_DIR ($COFFEE_DATA_DIR/postgres) and the instance
# folder (DAGSTER_HOME: compute logs, the instance file) in $COFFEE_DATA_DIR/dagster_home_prod.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
part="${1:-all}"
source scripts/setup.sh
coffee-settings || exit 1
bash scripts/install-postgres.sh

data_dir="$(coffee-settings --data-dir)"
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
# deploy/dagster.yaml reads the connection from these (a local trust-authenticated cluster).
export DAGSTER_PG_HOST=127.0.0.1 DAGSTER_PG_PORT="$pg_port" DAGSTER_PG_USER=dagster \
    DAGSTER_PG_PASSWORD=local DAGSTER_PG_DB=dagster
# Each step's materializations in one insert on PostgreSQL (docs/performance.md).
export DAGSTER_EVENT_BATCH_SIZE="${DAGSTER_EVENT_BATCH_SIZE:-1000}"
workspace=(-w "$DAGSTER_HOME/workspace.yaml")
# Each server with the default SIGINT and SIGTERM handling even when started from a script (a
# script's background job ignores SIGINT, and Dagster's servers then ignore SIGTERM too).
run=(exec env --default-signal=INT,TERM)

case "$part" in
postgres)
    bash scripts/local-postgres.sh start "$pg_dir" "$pg_port"
    trap 'bash scripts/local-postgres.sh stop "$pg_dir"' EXIT
    echo "Ctrl-C stops PostgreSQL."
    sleep infinity &
    wait $!  # (a trap runs at once, not after a foreground sleep)
    ;;
code-server)
    "${run[@]}" dagster code-server start -m coffee_assets.definitions --location-name coffee_assets \
        -h 127.0.0.1 -p "$code_port"
    ;;
webserver)
    "${run[@]}" dagster-webserver "${workspace[@]}" -h 127.0.0.1 -p "$web_port"
    ;;
daemon)
    "${run[@]}" dagster-daemon run "${workspace[@]}"
    ;;
all)
    bash scripts/local-postgres.sh start "$pg_dir" "$pg_port"
    pids=()
    signal_all() {  # each part's whole process group (set -m below: its pid is the group's)
        for pid in "${pids[@]}"; do kill "-$1" -- "-$pid" 2>/dev/null || true; done
    }
    any_alive() {
        for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && return 0; done
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
    trap stop EXIT INT TERM
    set -m  # each part in its own process group: Ctrl-C reaches this script, which stops them
    bash "$0" code-server &
    pids+=($!)
    # The webserver and the daemon once the code server answers (else they log its absence).
    for _ in $(seq 120); do
        dagster api grpc-health-check -h 127.0.0.1 -p "$code_port" >/dev/null 2>&1 && break
        kill -0 "${pids[0]}" 2>/dev/null || exit 1
        sleep 1
    done
    for p in webserver daemon; do
        bash "$0" "$p" &
        pids+=($!)
    done
    echo "Dagster on PostgreSQL: the UI on http://127.0.0.1:$web_port (code server :$code_port," \
        "PostgreSQL :$pg_port). Ctrl-C stops everything."
    # Any part that exits takes the others down: a half-running deployment helps nobody.
    wait -n "${pids[@]}"
    ;;
*)
    echo "unknown part $part: all, postgres, code-server, webserver or daemon" >&2
    exit 2
    ;;
esac
