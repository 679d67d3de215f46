# shellcheck shell=bash
# scripts/lib/common.sh — small shared helpers for scripts/test:
# logging, failing, running a command as root, picking a free loopback port.
# Sourced by scripts/test; defines functions only (no side effects on load).

# log MSG... — progress line on stdout.
log() {
    printf '[test %s] %s\n' "$(date +%H:%M:%S)" "$*"
}

# warn MSG... — warning on stderr.
warn() {
    printf '[test %s] WARNING: %s\n' "$(date +%H:%M:%S)" "$*" >&2
}

# die MSG... — error on stderr, then exit 1 (the EXIT trap cleans up).
die() {
    printf '[test %s] ERROR: %s\n' "$(date +%H:%M:%S)" "$*" >&2
    exit 1
}

# banner TITLE — a visible separator before each step.
banner() {
    printf '\n==== %s ====\n' "$*"
}

# as_root CMD... — run CMD as root (directly when we are root, else via sudo -n).
as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo -n "$@"
    else
        die "need root (or passwordless sudo) to run: $*"
    fi
}

# free_port — print a TCP port on 127.0.0.1 that is free right now.
# (The kernel picks it; a tiny race remains, so callers retry on bind failure.)
free_port() {
    python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()'
}

# show_log_tail NAME FILE — print the last lines of a service log (for failures).
show_log_tail() {
    local name=$1 file=$2
    if [ -s "$file" ]; then
        printf -- '---- last 40 lines of %s log (%s) ----\n' "$name" "$file" >&2
        tail -n 40 "$file" >&2 || true
        printf -- '---- end of %s log ----\n' "$name" >&2
    else
        printf -- '---- %s log (%s) is empty ----\n' "$name" "$file" >&2
    fi
}
