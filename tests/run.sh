#!/usr/bin/env bash
# One command: install what is missing, build, and run every test:
#   1. the normal build with warnings as errors: unit, vector and integration suites
#   2. the same suites under AddressSanitizer + UndefinedBehaviorSanitizer
#   3. the sFlow decoder and bus codec fuzzers, SFA_FUZZ_SECONDS each (default 60)
#   4. the suite from compose.yaml in containers (tests/deploy/compose_test.sh),
#      when ../shared/tools/compose.sh (podman + podman-compose) is there or
#      SFA_COMPOSE names a compose command; counted as one test
# Set SFA_TEST_QUICK=1 to run only step 1, SFA_TEST_COMPOSE=0 to leave out step 4.
set -euo pipefail
cd "$(dirname "$0")/.."
deploy/install-deps.sh --test

jobs=$(nproc)
fail=0

passed=0; failed=0; skipped=0
run_suite() {
    local dir=$1; shift
    if [ ! -f "$dir/build.ninja" ]; then
        meson setup "$dir" -Dwerror=true "$@"
    fi
    ninja -C "$dir"
    local log
    log=$(mktemp)
    meson test -C "$dir" --print-errorlogs --num-processes "$jobs" 2>&1 | tee "$log" || fail=1
    # meson's summary: "Ok: N", "Fail: N", "Skipped: N", "Expected Fail: N", "Timeout: N"
    local ok xf fl to sk
    ok=$(awk '/^Ok:/{print $2}' "$log"); xf=$(awk '/^Expected Fail:/{print $3}' "$log")
    fl=$(awk '/^Fail:/{print $2}' "$log"); to=$(awk '/^Timeout:/{print $2}' "$log")
    sk=$(awk '/^Skipped:/{print $2}' "$log")
    passed=$((passed + ${ok:-0} + ${xf:-0})); failed=$((failed + ${fl:-0} + ${to:-0}))
    skipped=$((skipped + ${sk:-0}))
    rm -f "$log"
}

echo "== build and test (werror)"
run_suite build-test
if [ "${SFA_TEST_QUICK:-0}" != 1 ]; then
    echo "== build and test (ASan + UBSan)"
    ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
        run_suite build-asan -Db_sanitize=address,undefined -Db_lundef=false
    echo "== fuzz"
    tests/fuzz/run.sh "${SFA_FUZZ_SECONDS:-60}" || fail=1
fi
echo "== compose (containers)"
if [ "${SFA_TEST_QUICK:-0}" = 1 ] || [ "${SFA_TEST_COMPOSE:-1}" = 0 ]; then
    echo "SKIP compose test: turned off (SFA_TEST_QUICK=1 or SFA_TEST_COMPOSE=0)"
    skipped=$((skipped + 1))
elif [ ! -f ../shared/tools/compose.sh ] && [ -z "${SFA_COMPOSE:-}" ]; then
    echo "SKIP compose test: no ../shared/tools/compose.sh (and no SFA_COMPOSE) on this machine"
    skipped=$((skipped + 1))
else
    t0=$(date +%s)
    rc=0
    tests/deploy/compose_test.sh </dev/null || rc=$?
    dt=$(($(date +%s) - t0))
    case $rc in
    0) passed=$((passed + 1)); echo "compose test: passed in $dt s" ;;
    77) skipped=$((skipped + 1)); echo "SKIP compose test: the container engine cannot run here (see above; $dt s)" ;;
    *) failed=$((failed + 1)); echo "compose test: FAILED in $dt s (compose commands' log: tests/artifacts/compose.log)" ;;
    esac
fi
if [ "$failed" -gt 0 ]; then fail=1; fi
echo "tests: $passed passed, $failed failed, $skipped skipped"
exit $fail
