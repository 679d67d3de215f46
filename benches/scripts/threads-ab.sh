#!/usr/bin/env bash
# benches/scripts/threads-ab.sh — one `chat bench` step per server build, with the CPU each of
# the server's threads spent per accepted message. This is the `ctt.sh` of BENCHMARKS.md.
#
#   benches/scripts/threads-ab.sh RATE BENCH_BIN:CHAT_BIN:TEMPLATE_DIR [BENCH_BIN:CHAT_BIN:TEMPLATE_DIR ...]
#
# For each triple: copies TEMPLATE_DIR (an empty dir for a fresh database, or a data dir a
# `chat-bench --spawn --data-dir` run left, e.g. grown with grow-history.py) to a scratch dir.
# It then runs BENCH_BIN there with CHAT_BIN spawned on core 0 and the generator on core 1, for
# one step at RATE msg/s: 1,000 users in direct rooms, 100-byte messages, DURATION (default
# 10s) after 2 s of warm-up. The bench opens the database itself, so BENCH_BIN must come from the
# same build as CHAT_BIN. While it runs, the script samples /proc/PID/task/*/stat every 0.5 s.
# It prints the step's latency, refusals and CPU, the outside load, and each thread's CPU in µs
# per accepted message. Alternate the builds over several rounds: these machines are noisy.
set -euo pipefail

RATE=${1:?usage: threads-ab.sh RATE BENCH_BIN:CHAT_BIN:TEMPLATE_DIR ...}
shift
WORK=$(mktemp -d)
BENCH_PID=
cleanup() {
    [ -n "$BENCH_PID" ] && kill "$BENCH_PID" 2>/dev/null && wait "$BENCH_PID" 2>/dev/null
    rm -rf "$WORK"
}
trap cleanup EXIT

# Each thread's user + system CPU in clock ticks, summed by thread name.
thread_ticks() {
    local pid=$1
    for task in /proc/"$pid"/task/*; do
        local name ticks
        name=$(cat "$task/comm" 2>/dev/null) || continue
        ticks=$(cut -d')' -f2 "$task/stat" 2>/dev/null | awk '{print $12 + $13}') || continue
        echo "$name $ticks"
    done | awk '{sum[$1] += $2} END {for (n in sum) print n, sum[n]}'
}

for triple in "$@"; do
    IFS=: read -r bench chat template <<<"$triple"
    rm -rf "$WORK/data"
    cp -r "$template" "$WORK/data"
    taskset -c 1 "$bench" --spawn --data-dir "$WORK/data" --server-bin "$chat" --server-cpus 0 \
        --users 1000 --message-bytes 100 --duration "${DURATION:-10s}" --warmup 2s --drain 3s \
        --rates "$RATE" --json >"$WORK/result.json" 2>"$WORK/bench.log" &
    BENCH_PID=$!
    ticks=""
    while kill -0 "$BENCH_PID" 2>/dev/null; do
        server=$(pgrep -f "^$chat serve" | head -1 || true)
        if [ -n "$server" ]; then
            sample=$(thread_ticks "$server")
            [ -n "$sample" ] && ticks=$sample
        fi
        sleep 0.5
    done
    wait "$BENCH_PID" || { cat "$WORK/bench.log" >&2; exit 1; }
    BENCH_PID=
    accepted=$(jq '.steps[0].counts.sent - .steps[0].counts.refused' "$WORK/result.json")
    hz=$(getconf CLK_TCK)
    per_thread=$(echo "$ticks" | awk -v accepted="$accepted" -v hz="$hz" \
        'NF == 2 && accepted > 0 {printf "%s %.1f  ", $1, $2 / hz * 1e6 / accepted}')
    jq -r --arg build "$(basename "$chat") $(basename "$template")" '.steps[0] |
        "\($build): \(.rate) msg/s, refused \(.counts.refused), p50 \(.latency_ms.p50) p99 \(.latency_ms.p99) p99.9 \(.latency_ms.p999) max \(.latency_ms.max) ms, server \(.server_us_per_message | floor) µs/msg, outside load \(.others_cpu * 100 | floor)%"' \
        "$WORK/result.json"
    echo "  µs/msg by thread: $per_thread"
done
