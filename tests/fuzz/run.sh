#!/usr/bin/env bash
# Build the libFuzzer targets with clang (ASan + UBSan) and run each for
# SECONDS (default 60), seeded from proto/vectors and tests/fuzz/corpus.
# Fails if a target finds a crash, a leak or undefined behaviour; the
# reproducer is left in build-fuzz/artifacts/.
#   tests/fuzz/run.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/../.."
secs=${1:-60}
dir=build-fuzz
if [ ! -f "$dir/build.ninja" ]; then
    CC=clang meson setup "$dir" -Dfuzz=true -Db_sanitize=address,undefined -Db_lundef=false \
        -Dintegration=false >/dev/null
fi
ninja -C "$dir" tests/fuzz/fuzz_sflow tests/fuzz/fuzz_codec >/dev/null
mkdir -p "$dir/artifacts"
status=0
for t in sflow codec; do
    case $t in
        sflow) seeds="proto/vectors/sflow"; max_len=9000 ;;
        codec) seeds="proto/vectors/bus"; max_len=65536 ;;
    esac
    work=$(mktemp -d)
    cp -r $seeds/. "$work/" 2>/dev/null || true
    if [ -d "tests/fuzz/corpus/$t" ]; then cp -r "tests/fuzz/corpus/$t/." "$work/" 2>/dev/null || true; fi
    echo "fuzz_$t: ${secs}s"
    if ! UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
        "$dir/tests/fuzz/fuzz_$t" -max_total_time="$secs" -max_len="$max_len" -timeout=10 \
        -print_final_stats=1 -artifact_prefix="$dir/artifacts/fuzz_$t-" "$work" \
        >"$dir/artifacts/fuzz_$t.log" 2>&1; then
        echo "fuzz_$t FAILED (see $dir/artifacts/fuzz_$t.log)"
        tail -40 "$dir/artifacts/fuzz_$t.log"
        status=1
    else
        grep -E "stat::number_of_executed_units|stat::peak_rss_mb|cov:" "$dir/artifacts/fuzz_$t.log" | tail -3
    fi
    rm -rf "$work"
done
exit $status
