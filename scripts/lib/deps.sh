# shellcheck shell=bash
# scripts/lib/deps.sh — make sure the machine has what the tests need:
# Debian packages (redis-server, python3, a C toolchain, pkg-config and, for
# the web tests, chromium), the Rust toolchain, and a Go new enough to build
# FerretDB. Installs only what is missing; runs `apt-get update` at most once.
# Sourced by scripts/test; needs common.sh.

APT_UPDATED=0

# apt_install PKG... — install Debian packages non-interactively.
apt_install() {
    [ "$#" -gt 0 ] || return 0
    command -v apt-get >/dev/null 2>&1 || die "apt-get not found; install by hand: $*"
    if [ "$APT_UPDATED" -eq 0 ]; then
        log "apt-get update"
        as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq </dev/null \
            || die "apt-get update failed"
        APT_UPDATED=1
    fi
    log "apt-get install $*"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@" </dev/null \
        || die "apt-get install failed: $*"
}

# ensure_system_packages WANT_WEB — install missing Debian packages.
# WANT_WEB=1 also brings chromium (used by scripts/test-web).
ensure_system_packages() {
    local want_web=${1:-0}
    local missing=()
    command -v python3 >/dev/null 2>&1 || missing+=(python3)
    command -v cc >/dev/null 2>&1 || missing+=(build-essential)
    command -v pkg-config >/dev/null 2>&1 || missing+=(pkg-config)
    command -v setsid >/dev/null 2>&1 || missing+=(util-linux)
    if [ -z "${CHAT_TEST_REDIS_SERVER_BIN:-}" ]; then
        command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
    fi
    command -v redis-cli >/dev/null 2>&1 || missing+=(redis-tools)
    if [ "$want_web" = 1 ] && ! command -v chromium >/dev/null 2>&1; then
        # the same set scripts/test-web installs (fonts for readable screenshots)
        missing+=(chromium fonts-liberation fonts-dejavu-core)
    fi
    if [ "${#missing[@]}" -gt 0 ]; then
        apt_install "${missing[@]}"
    fi
}

# ensure_rust — cargo, rustfmt and clippy must be on PATH (rustup's ~/.cargo/bin
# is added when it exists). They cannot be installed from here.
ensure_rust() {
    if ! command -v cargo >/dev/null 2>&1 && [ -x "$HOME/.cargo/bin/cargo" ]; then
        PATH="$HOME/.cargo/bin:$PATH"
        export PATH
    fi
    command -v cargo >/dev/null 2>&1 || die "cargo not found (install Rust with rustup)"
    cargo fmt --version >/dev/null 2>&1 || die "rustfmt missing (rustup component add rustfmt)"
    cargo clippy --version >/dev/null 2>&1 || die "clippy missing (rustup component add clippy)"
    if [ -n "${CI:-}" ]; then
        # one build from scratch: incremental artefacts would only cost disk and time
        export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"
    fi
    warn_if_disk_low
}

# warn_if_disk_low — say so up front when the target dir's disk has less room
# than a full debug build of the workspace takes, instead of failing midway.
warn_if_disk_low() {
    local dir free_kb need_kb=$((12 * 1024 * 1024))
    dir="${CARGO_TARGET_DIR:-$REPO_ROOT/target}"
    while [ ! -d "$dir" ]; do dir=$(dirname "$dir"); done
    free_kb=$(df -Pk "$dir" 2>/dev/null | awk 'NR == 2 {print $4}')
    if [ -n "$free_kb" ] && [ "$free_kb" -lt "$need_kb" ]; then
        log "WARNING: $((free_kb / 1024)) MiB free under $dir; a full debug build needs about 12 GiB"
    fi
}

# go_minor GO — print the minor version of a go1.X[.Y] binary (0 if unknown).
go_minor() {
    local v
    v=$("$1" env GOVERSION 2>/dev/null || "$1" version 2>/dev/null | awk '{print $3}')
    v=${v#go}
    case "$v" in
        1.*) v=${v#1.}; printf '%s\n' "${v%%[!0-9]*}" ;;
        *) printf '0\n' ;;
    esac
}

# find_go — print the path of some go binary (PATH, /usr/local/go, Debian's), or fail.
find_go() {
    local c
    for c in "$(command -v go 2>/dev/null || true)" /usr/local/go/bin/go /usr/lib/go/bin/go; do
        if [ -n "$c" ] && [ -x "$c" ]; then
            printf '%s\n' "$c"
            return 0
        fi
    done
    return 1
}

# ensure_go MIN_MINOR TOOLCHAIN — set GO to a go binary of version >= 1.MIN_MINOR.
# Order: go on PATH or /usr/local/go; else Debian's golang-go. If that is too old
# (Debian 12 ships 1.19, FerretDB v1.24 needs 1.24), the official Go toolchain
# module golang.org/toolchain@v0.0.1-TOOLCHAIN.linux-ARCH is fetched from the Go
# module proxy (the same thing `GOTOOLCHAIN=auto` does) into the cache folder.
ensure_go() {
    local min_minor=$1 toolchain=$2 go_bin
    if ! go_bin=$(find_go); then
        apt_install golang-go
        go_bin=$(find_go) || die "golang-go installed but no go binary found"
    fi
    if [ "$(go_minor "$go_bin")" -ge "$min_minor" ]; then
        GO=$go_bin
        return 0
    fi
    log "$("$go_bin" version) is older than go1.$min_minor; fetching $toolchain from the Go module proxy"
    GO=$(bootstrap_go_toolchain "$go_bin" "$toolchain") || die "could not bootstrap $toolchain"
    [ "$(go_minor "$GO")" -ge "$min_minor" ] || die "bootstrapped $GO is still too old"
}

# bootstrap_go_toolchain OLD_GO TOOLCHAIN — unpack golang.org/toolchain into the
# cache (once) with an older go, and print the path of its go binary.
bootstrap_go_toolchain() {
    local old_go=$1 toolchain=$2 arch dest mod dir
    case "$(uname -m)" in
        x86_64) arch=amd64 ;;
        aarch64 | arm64) arch=arm64 ;;
        *) die "no Go toolchain mapping for $(uname -m)" ;;
    esac
    dest="$CHAT_CACHE_DIR/$toolchain"
    if [ -x "$dest/bin/go" ]; then
        printf '%s\n' "$dest/bin/go"
        return 0
    fi
    mod="golang.org/toolchain@v0.0.1-$toolchain.linux-$arch"
    dir=$(cd / && GOTOOLCHAIN=local GOFLAGS=-modcacherw "$old_go" mod download -json "$mod" \
        | python3 -c 'import json, sys; print(json.load(sys.stdin)["Dir"])') \
        || die "could not download $mod"
    mkdir -p "$CHAT_CACHE_DIR"
    rm -rf "$dest.tmp.$$"
    cp -R "$dir" "$dest.tmp.$$"
    chmod -R u+w "$dest.tmp.$$"
    # module zips carry no file modes: make the toolchain's programs executable
    find "$dest.tmp.$$/bin" "$dest.tmp.$$/pkg/tool" -type f -exec chmod +x {} +
    rm -rf "$dest"
    mv "$dest.tmp.$$" "$dest"
    printf '%s\n' "$dest/bin/go"
}
