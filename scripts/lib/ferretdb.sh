# shellcheck shell=bash
# scripts/lib/ferretdb.sh — build FerretDB (a MongoDB-wire-compatible server on
# SQLite) once from the Go module proxy and keep it in the cache folder:
#   ${CHAT_CACHE_DIR:-$HOME/.cache/chat-engine}/ferretdb-v1.24.2/ferretdb
# Later runs reuse it. CHAT_TEST_FERRETDB_BIN, when already set to an
# executable, is used instead of building.
# Sourced by scripts/test; needs common.sh and deps.sh.
#
# Why not plain `go install ...@v1.24.2`: that builds, but the binary panics at
# start ("Invalid build/version/version.txt"), because FerretDB embeds
# build/version/version.txt, which its release process generates and the module
# zip lacks. So the module source is copied to a temp dir, version.txt is
# written, and the binary is built there.

FERRETDB_VERSION=v1.24.2
FERRETDB_GO_MIN_MINOR=24         # its go.mod says "go 1.24"
FERRETDB_GO_TOOLCHAIN=go1.24.3   # its go.mod's toolchain line

# ferretdb_cached_path — where the cached binary lives.
ferretdb_cached_path() {
    printf '%s\n' "$CHAT_CACHE_DIR/ferretdb-$FERRETDB_VERSION/ferretdb"
}

# ferretdb_ok BIN — true if BIN runs and reports the expected version.
ferretdb_ok() {
    # Capture the whole output first: `| grep -q` would stop reading at the first match
    # and, under pipefail, a ferretdb killed by SIGPIPE would fail the check at random.
    local out
    [ -x "$1" ] || return 1
    out=$("$1" --version 2>/dev/null) || return 1
    printf '%s\n' "$out" | grep -x "version: $FERRETDB_VERSION" >/dev/null
}

# ensure_ferretdb — set FERRETDB_BIN, building into the cache if needed.
ensure_ferretdb() {
    if [ -n "${CHAT_TEST_FERRETDB_BIN:-}" ]; then
        [ -x "$CHAT_TEST_FERRETDB_BIN" ] || die "CHAT_TEST_FERRETDB_BIN=$CHAT_TEST_FERRETDB_BIN is not executable"
        FERRETDB_BIN=$CHAT_TEST_FERRETDB_BIN
        log "using FerretDB from CHAT_TEST_FERRETDB_BIN: $FERRETDB_BIN"
        return 0
    fi
    local bin dir
    bin=$(ferretdb_cached_path)
    dir=$(dirname "$bin")
    if ! ferretdb_ok "$bin"; then
        mkdir -p "$dir"
        # one builder at a time; others wait here and then reuse its result
        exec 9>"$dir/.build.lock"
        flock 9
        if ! ferretdb_ok "$bin"; then
            build_ferretdb "$bin"
        fi
        flock -u 9
        exec 9>&-
    fi
    FERRETDB_BIN=$bin
    log "FerretDB: $FERRETDB_BIN"
}

# build_ferretdb DEST — build FerretDB $FERRETDB_VERSION and install it at DEST.
build_ferretdb() {
    local dest=$1 work src started=$SECONDS
    ensure_go "$FERRETDB_GO_MIN_MINOR" "$FERRETDB_GO_TOOLCHAIN"
    log "building FerretDB $FERRETDB_VERSION with $("$GO" version) (first run only; takes a few minutes)"
    work=$(mktemp -d "${TMPDIR:-/tmp}/chat-ferretdb-build.XXXXXX")
    src=$(cd / && GOTOOLCHAIN=local GOFLAGS=-modcacherw "$GO" mod download -json \
        "github.com/FerretDB/FerretDB@$FERRETDB_VERSION" \
        | python3 -c 'import json, sys; print(json.load(sys.stdin)["Dir"])') \
        || { rm -rf "$work"; die "could not download github.com/FerretDB/FerretDB@$FERRETDB_VERSION"; }
    cp -R "$src" "$work/src"
    chmod -R u+w "$work/src"
    printf '%s\n' "$FERRETDB_VERSION" >"$work/src/build/version/version.txt"
    if ! (cd "$work/src" && GOWORK=off GOTOOLCHAIN=local GOFLAGS="-buildvcs=false -modcacherw" CGO_ENABLED=0 \
        "$GO" build -trimpath -o "$work/ferretdb" ./cmd/ferretdb); then
        rm -rf "$work"
        die "FerretDB build failed (see the go output above)"
    fi
    if ! ferretdb_ok "$work/ferretdb"; then
        "$work/ferretdb" --version >&2 || true
        rm -rf "$work"
        die "the FerretDB binary built but does not report version $FERRETDB_VERSION"
    fi
    cp "$work/ferretdb" "$dest.tmp.$$"
    mv -f "$dest.tmp.$$" "$dest"
    rm -rf "$work"
    log "FerretDB built in $((SECONDS - started))s -> $dest"
}
