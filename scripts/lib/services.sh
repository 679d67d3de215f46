# shellcheck shell=bash
# scripts/lib/services.sh — start and stop the private test services:
# a FerretDB (MongoDB wire protocol, SQLite backend) and a Redis, each on a
# free 127.0.0.1 port, with data and logs in $TEST_TMP. Waits until each
# really answers a ping, then exports for the tests:
#   CHAT_TEST_MONGO_URL         mongodb://127.0.0.1:PORT/
#   CHAT_TEST_REDIS_URL         redis://127.0.0.1:PORT/
#   CHAT_TEST_FERRETDB_BIN      absolute path of the ferretdb binary
#   CHAT_TEST_REDIS_SERVER_BIN  absolute path of redis-server
#   CHAT_TEST_TMPDIR            this run's temp dir (removed at exit)
#   CHAT_TEST_REQUIRE_SERVICES  1: a test whose service variable is missing
#                               fails instead of skipping (chat-testkit's rule)
# Sourced by scripts/test; needs common.sh. FERRETDB_BIN and TEST_TMP must be set.

SERVICE_NAMES=()
SERVICE_PIDS=()
SERVICE_READY_TIMEOUT=${CHAT_TEST_SERVICE_TIMEOUT:-60}
SCRIPT_LIB_DIR=${SCRIPT_LIB_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)}

# wait_ready NAME PID CMD... — poll CMD until it succeeds; fail if PID dies
# or SERVICE_READY_TIMEOUT seconds pass.
wait_ready() {
    local name=$1 pid=$2
    shift 2
    local deadline=$((SECONDS + SERVICE_READY_TIMEOUT))
    while :; do
        if "$@" >/dev/null 2>&1; then
            return 0
        fi
        if ! kill -0 "$pid" 2>/dev/null; then
            warn "$name (pid $pid) exited during startup"
            return 1
        fi
        if [ "$SECONDS" -ge "$deadline" ]; then
            warn "$name did not answer within ${SERVICE_READY_TIMEOUT}s"
            "$@" || true
            return 1
        fi
        sleep 0.2
    done
}

# register_service NAME PID — remember a process for stop_services.
register_service() {
    SERVICE_NAMES+=("$1")
    SERVICE_PIDS+=("$2")
}

# launch NAME LOG CMD... — start CMD in the background (stdin from /dev/null,
# output to LOG), register it, and set LAUNCHED_PID.
launch() {
    local name=$1 logfile=$2
    shift 2
    "$@" </dev/null >>"$logfile" 2>&1 &
    LAUNCHED_PID=$!
    register_service "$name" "$LAUNCHED_PID"
}

# stop_pid NAME PID — TERM, wait up to 10s, then KILL; reap it.
stop_pid() {
    local name=$1 pid=$2 i
    kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 1 50); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.2
    done
    if kill -0 "$pid" 2>/dev/null; then
        warn "$name (pid $pid) ignored SIGTERM; sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
}

# stop_services — stop every registered service, newest first.
stop_services() {
    local i
    for ((i = ${#SERVICE_PIDS[@]} - 1; i >= 0; i--)); do
        stop_pid "${SERVICE_NAMES[$i]}" "${SERVICE_PIDS[$i]}"
    done
    SERVICE_NAMES=()
    SERVICE_PIDS=()
}

# start_ferretdb — start FerretDB on a free port; export CHAT_TEST_MONGO_URL.
start_ferretdb() {
    local attempt port dir=$TEST_TMP/ferretdb logfile=$TEST_TMP/ferretdb.log
    for attempt in 1 2 3; do
        port=$(free_port)
        rm -rf "$dir"
        mkdir -p "$dir/data" "$dir/state"
        : >"$logfile"
        launch ferretdb "$logfile" "$FERRETDB_BIN" \
            --handler=sqlite \
            --sqlite-url="file:$dir/data/" \
            --listen-addr="127.0.0.1:$port" \
            --state-dir="$dir/state" \
            --debug-addr=- \
            --telemetry=disable \
            --log-level=warn
        if wait_ready FerretDB "$LAUNCHED_PID" \
            python3 "$SCRIPT_LIB_DIR/mongo_ping.py" 127.0.0.1 "$port" 1; then
            export CHAT_TEST_MONGO_URL="mongodb://127.0.0.1:$port/"
            log "FerretDB ready at $CHAT_TEST_MONGO_URL (pid $LAUNCHED_PID)"
            return 0
        fi
        stop_pid ferretdb "$LAUNCHED_PID"
        show_log_tail FerretDB "$logfile"
        warn "FerretDB start attempt $attempt failed"
    done
    die "could not start FerretDB"
}

# redis_ping PORT — true if the Redis on PORT answers PONG.
redis_ping() {
    [ "$(redis-cli -h 127.0.0.1 -p "$1" ping 2>/dev/null)" = PONG ]
}

# start_redis — start redis-server on a free port; export CHAT_TEST_REDIS_URL.
start_redis() {
    local attempt port dir=$TEST_TMP/redis logfile=$TEST_TMP/redis.log
    for attempt in 1 2 3; do
        port=$(free_port)
        mkdir -p "$dir"
        : >"$logfile"
        launch redis-server "$logfile" "$REDIS_SERVER_BIN" \
            --port "$port" \
            --bind 127.0.0.1 \
            --save '' \
            --appendonly no \
            --daemonize no \
            --dir "$dir"
        if wait_ready Redis "$LAUNCHED_PID" redis_ping "$port"; then
            export CHAT_TEST_REDIS_URL="redis://127.0.0.1:$port/"
            log "Redis ready at $CHAT_TEST_REDIS_URL (pid $LAUNCHED_PID)"
            return 0
        fi
        stop_pid redis-server "$LAUNCHED_PID"
        show_log_tail Redis "$logfile"
        warn "Redis start attempt $attempt failed"
    done
    die "could not start Redis"
}

# start_services — start both services and export everything the tests read.
start_services() {
    REDIS_SERVER_BIN=${CHAT_TEST_REDIS_SERVER_BIN:-$(command -v redis-server)}
    case "$REDIS_SERVER_BIN" in
        /*) ;;
        *) REDIS_SERVER_BIN=$(cd "$(dirname "$REDIS_SERVER_BIN")" && pwd)/$(basename "$REDIS_SERVER_BIN") ;;
    esac
    case "$FERRETDB_BIN" in
        /*) ;;
        *) FERRETDB_BIN=$(cd "$(dirname "$FERRETDB_BIN")" && pwd)/$(basename "$FERRETDB_BIN") ;;
    esac
    start_ferretdb
    start_redis
    export CHAT_TEST_FERRETDB_BIN=$FERRETDB_BIN
    export CHAT_TEST_REDIS_SERVER_BIN=$REDIS_SERVER_BIN
    export CHAT_TEST_TMPDIR=$TEST_TMP
    # Every service is there now: a suite that would skip for want of one has
    # lost a variable, and must fail rather than pass without testing anything.
    export CHAT_TEST_REQUIRE_SERVICES=1
}
