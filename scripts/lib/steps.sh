# shellcheck shell=bash
# scripts/lib/steps.sh — run the test steps (cargo fmt, clippy, test, the web
# tests), remember how each went, count the tests, and print the summary.
# Each step runs in its own session (setsid), so that on Ctrl-C/TERM, or when
# it leaves something running, the step and everything it started are stopped.
# Sourced by scripts/test; needs common.sh. TEST_TMP must be set.

STEP_NAMES=()
STEP_RESULTS=()
CURRENT_STEP_PID=
TESTS_PASSED=0
TESTS_FAILED=0
TESTS_SKIPPED=0

# kill_session PGID — stop every process still in process group PGID.
kill_session() {
    local pgid=$1 i
    kill -0 -- "-$pgid" 2>/dev/null || return 0
    kill -TERM -- "-$pgid" 2>/dev/null || true
    for i in $(seq 1 25); do
        kill -0 -- "-$pgid" 2>/dev/null || return 0
        sleep 0.2
    done
    warn "processes of step group $pgid survived SIGTERM; sending SIGKILL"
    kill -KILL -- "-$pgid" 2>/dev/null || true
}

# run_logged LOG CMD... — run CMD (stdin /dev/null) in a new session, showing
# its output and copying it to LOG; return CMD's exit status.
run_logged() {
    local logfile=$1 rc=0
    shift
    # shellcheck disable=SC2016 # $0/$@ belong to the inner bash
    setsid -w bash -c 'set -o pipefail; "$@" </dev/null 2>&1 | tee "$0"' "$logfile" "$@" &
    CURRENT_STEP_PID=$!
    wait "$CURRENT_STEP_PID" || rc=$?
    kill_session "$CURRENT_STEP_PID"
    CURRENT_STEP_PID=
    return "$rc"
}

# run_in_session CMD... — run CMD in a new session with this script's stdin,
# wait for it, stop whatever it left running; return CMD's exit status.
run_in_session() {
    local rc=0
    setsid -w "$@" <&0 &
    CURRENT_STEP_PID=$!
    wait "$CURRENT_STEP_PID" || rc=$?
    kill_session "$CURRENT_STEP_PID"
    CURRENT_STEP_PID=
    return "$rc"
}

# record_step NAME RESULT — remember a step's result (ok, FAILED, skipped...).
record_step() {
    STEP_NAMES+=("$1")
    STEP_RESULTS+=("$2")
}

# run_step NAME CMD... — banner, run, record; returns CMD's exit status.
# The output is kept in $TEST_TMP/step-N.log for counting.
run_step() {
    local name=$1 rc=0 started=$SECONDS
    shift
    STEP_LOG="$TEST_TMP/step-${#STEP_NAMES[@]}.log"
    banner "$name: $*"
    run_logged "$STEP_LOG" "$@" || rc=$?
    if [ "$rc" -eq 0 ]; then
        record_step "$name" "ok"
        log "$name: ok ($((SECONDS - started))s)"
    else
        record_step "$name" "FAILED"
        warn "$name: FAILED with exit status $rc ($((SECONDS - started))s)"
    fi
    return "$rc"
}

# strip_ansi — remove colour codes from stdin.
strip_ansi() {
    sed 's/\x1b\[[0-9;]*[A-Za-z]//g'
}

# count_cargo_tests LOG — add up cargo test's "test result:" lines.
count_cargo_tests() {
    local p f s
    read -r p f s < <(strip_ansi <"$1" | awk '
        /^test result: / {
            for (i = 2; i <= NF; i++) {
                if ($i ~ /^passed;?$/) p += $(i - 1)
                if ($i ~ /^failed;?$/) f += $(i - 1)
                if ($i ~ /^ignored;?$/) s += $(i - 1)
            }
        }
        END { print p + 0, f + 0, s + 0 }')
    TESTS_PASSED=$((TESTS_PASSED + p))
    TESTS_FAILED=$((TESTS_FAILED + f))
    TESTS_SKIPPED=$((TESTS_SKIPPED + s))
}

# count_other_tests LOG — add the test counts another runner printed: its last
# "[word:] N passed, N failed[, N skipped]" line if it has one; else Vitest's
# "Tests  N failed | N passed | N skipped (N)" line plus node's test runner
# "# pass N" / "# fail N" / "# cancelled N" / "# skipped N" (tap) or "ℹ pass N"
# (spec) lines; cancelled tests count as failed.
# Returns 1 if LOG has none of these.
count_other_tests() {
    local text line p=0 f=0 s=0 found=0 n
    text=$(strip_ansi <"$1")
    line=$(grep -E '^([^ ]+: )?[0-9]+ passed, [0-9]+ failed(, [0-9]+ skipped)?$' <<<"$text" | tail -n 1 || true)
    if [ -n "$line" ]; then
        line=${line#*: }
        p=$(sed -E 's/^([0-9]+) passed.*/\1/' <<<"$line")
        f=$(sed -E 's/.* ([0-9]+) failed.*/\1/' <<<"$line")
        case "$line" in *skipped) s=$(sed -E 's/.* ([0-9]+) skipped$/\1/' <<<"$line") ;; esac
        found=1
    else
        # Vitest: "      Tests  2 failed | 40 passed | 1 skipped (43)"
        line=$(grep -E '^ *Tests +[0-9]+ ' <<<"$text" | tail -n 1 || true)
        if [ -n "$line" ]; then
            found=1
            n=$(grep -oE '[0-9]+ passed' <<<"$line" | grep -oE '[0-9]+' || true); p=$((p + ${n:-0}))
            n=$(grep -oE '[0-9]+ failed' <<<"$line" | grep -oE '[0-9]+' || true); f=$((f + ${n:-0}))
            n=$(grep -oE '[0-9]+ skipped' <<<"$line" | grep -oE '[0-9]+' || true); s=$((s + ${n:-0}))
        fi
        # node --test: "# pass 12" (tap reporter) or "ℹ pass 12" (spec reporter)
        n=$(sed -nE 's/^(# |ℹ )pass ([0-9]+)$/\2/p' <<<"$text" | tail -n 1)
        if [ -n "$n" ]; then
            found=1
            p=$((p + n))
            n=$(sed -nE 's/^(# |ℹ )fail ([0-9]+)$/\2/p' <<<"$text" | tail -n 1); f=$((f + ${n:-0}))
            n=$(sed -nE 's/^(# |ℹ )cancelled ([0-9]+)$/\2/p' <<<"$text" | tail -n 1); f=$((f + ${n:-0}))
            n=$(sed -nE 's/^(# |ℹ )skipped ([0-9]+)$/\2/p' <<<"$text" | tail -n 1); s=$((s + ${n:-0}))
        fi
    fi
    [ "$found" = 1 ] || return 1
    TESTS_PASSED=$((TESTS_PASSED + p))
    TESTS_FAILED=$((TESTS_FAILED + f))
    TESTS_SKIPPED=$((TESTS_SKIPPED + s))
}

# cargo_target_dir — the workspace's target directory (honours CARGO_TARGET_DIR).
cargo_target_dir() {
    cargo metadata --format-version 1 --no-deps </dev/null \
        | python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])'
}

# run_web_tests — build the chat binary and run scripts/test-web with CHAT_BIN.
# The binary is built with the same package and target selection as
# `cargo test --workspace` (so with the same unified features): that reuses
# everything cargo test compiled, where `cargo build -p chat-cli` would
# recompile many dependencies with chat-cli's own feature set (minutes on 2 cores).
run_web_tests() {
    local chat_bin
    run_step "cargo build (chat binary)" cargo build --workspace --bins --tests || {
        record_step "scripts/test-web" "not run (chat build failed)"
        return 0
    }
    chat_bin="$(cargo_target_dir)/debug/chat"
    if [ ! -x "$chat_bin" ]; then
        warn "built chat-cli but $chat_bin does not exist"
        record_step "scripts/test-web" "FAILED"
        return 0
    fi
    if run_step "scripts/test-web" env CHAT_BIN="$chat_bin" "$REPO_ROOT/scripts/test-web"; then :; fi
    count_other_tests "$STEP_LOG" \
        || log "found no test counts in the scripts/test-web output; its tests are not in the totals"
}

# run_all_steps RUN_LINT RUN_WEB [CARGO_TEST_ARGS...] — the full test sequence.
# Keeps going after a failed step so that one run shows every problem.
run_all_steps() {
    local run_lint=$1 run_web=$2
    shift 2
    if [ "$run_lint" = 1 ]; then
        run_step "cargo fmt" cargo fmt --all --check || true
        run_step "cargo clippy" cargo clippy --workspace --all-targets -- -D warnings || true
    else
        record_step "cargo fmt" "skipped (--no-lint)"
        record_step "cargo clippy" "skipped (--no-lint)"
    fi
    run_step "cargo test" cargo test --workspace "$@" || true
    count_cargo_tests "$STEP_LOG"
    if [ "$run_web" != 1 ]; then
        record_step "scripts/test-web" "skipped (--no-web)"
    elif [ -x "$REPO_ROOT/scripts/test-web" ]; then
        run_web_tests
    else
        record_step "scripts/test-web" "skipped (not present)"
    fi
}

# print_summary — list the steps and end with the closing lines; returns 1 if
# any step failed.
print_summary() {
    local i failed=()
    banner "summary"
    for i in "${!STEP_NAMES[@]}"; do
        printf '  %-28s %s\n' "${STEP_NAMES[$i]}" "${STEP_RESULTS[$i]}"
        case "${STEP_RESULTS[$i]}" in
            FAILED* | "not run"*) failed+=("${STEP_NAMES[$i]}") ;;
        esac
    done
    echo
    if [ "${#failed[@]}" -eq 0 ]; then
        echo "scripts/test: PASSED (all steps ok)"
    else
        local list
        list=$(printf '%s, ' "${failed[@]}")
        echo "scripts/test: FAILED (${list%, })"
    fi
    # the plain closing line: tests counted from cargo test and scripts/test-web
    echo "tests: $TESTS_PASSED passed, $TESTS_FAILED failed, $TESTS_SKIPPED skipped"
    [ "${#failed[@]}" -eq 0 ]
}
