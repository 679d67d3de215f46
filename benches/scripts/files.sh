#!/usr/bin/env bash
# benches/scripts/files.sh — upload and download throughput of `chat serve` on its embedded
# store (SQLite + DATA_DIR/files), over loopback with curl.
#
#   benches/scripts/files.sh [CHAT_BIN] [MiB] [ROUNDS]
#
# Starts a private `chat serve` on a free port and a scratch data dir, registers two users,
# opens their direct room, then uploads a random file of MiB mebibytes ROUNDS times, downloads
# it ROUNDS times and fetches its last MiB with a range request; prints MB/s per transfer.
# Everything it starts is stopped on exit.
set -euo pipefail

CHAT_BIN=${1:-target/release/chat}
MIB=${2:-24}
ROUNDS=${3:-5}
WORK=$(mktemp -d)
SERVER_PID=
cleanup() {
    [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
    rm -rf "$WORK"
}
trap cleanup EXIT

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
BASE=http://127.0.0.1:$PORT
"$CHAT_BIN" serve --bind "127.0.0.1:$PORT" --data-dir "$WORK/data" \
    --max-file-bytes $(((MIB + 1) * 1048576)) --upload-rate-per-minute 0 >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 100); do curl -sf "$BASE/healthz" >/dev/null && break; sleep 0.1; done

register() {
    curl -sf "$BASE/api/register" -H 'content-type: application/json' \
        -d "{\"email\":\"$1@bench.test\",\"password\":\"bench-password-1\",\"name\":\"$1\"}" |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])'
}
json_field() { python3 -c "import json,sys; print(json.load(sys.stdin)[\"$1\"])"; }

TOKEN=$(register ann)
BOB=$(curl -sf "$BASE/api/register" -H 'content-type: application/json' \
    -d '{"email":"bob@bench.test","password":"bench-password-1","name":"bob"}' |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["user"]["id"])')
ROOM=$(curl -sf "$BASE/api/chats" -H "authtoken: $TOKEN" -H 'content-type: application/json' \
    -d "{\"to_user_id\":\"$BOB\"}" | json_field _id)

head -c $((MIB * 1048576)) /dev/urandom >"$WORK/payload.bin"
BYTES=$((MIB * 1048576))
rate() { python3 -c "print(f'{$BYTES / $1 / 1e6:.0f} MB/s ({$1 * 1000:.1f} ms)')"; }

FILE=
for i in $(seq "$ROUNDS"); do
    OUT=$(curl -sf -o "$WORK/upload.json" -w '%{time_total}' -H "authtoken: $TOKEN" \
        -F "file=@$WORK/payload.bin" "$BASE/api/rooms/$ROOM/files")
    FILE=$(json_field file_id <"$WORK/upload.json")
    echo "upload   $i: $(rate "$OUT")"
done
for i in $(seq "$ROUNDS"); do
    OUT=$(curl -sf -o "$WORK/download.bin" -w '%{time_total}' -H "authtoken: $TOKEN" \
        "$BASE/api/files/$FILE")
    cmp -s "$WORK/payload.bin" "$WORK/download.bin" || { echo "download $i: bytes differ" >&2; exit 1; }
    echo "download $i: $(rate "$OUT")"
done
OUT=$(curl -sf -o /dev/null -w '%{http_code} %{size_download} B in %{time_total} s' \
    -H "authtoken: $TOKEN" -H 'range: bytes=-1048576' "$BASE/api/files/$FILE")
echo "range (last MiB): $OUT"
