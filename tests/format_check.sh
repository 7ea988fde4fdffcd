#!/usr/bin/env bash
# STYLE habit 20: the committed .clang-format is law; fail on drift.
# Prints one TAP line per C file. Skips (TAP) when clang-format is missing.
#   tests/format_check.sh SOURCE_ROOT
set -u
cd "$1" || exit 2
if ! command -v clang-format >/dev/null 2>&1; then
    echo "1..0 # SKIP clang-format not installed"
    exit 0
fi
n=0; bad=0
while IFS= read -r f; do
    n=$((n + 1))
    if clang-format --dry-run -Werror "$f" >/dev/null 2>&1; then
        echo "ok $n - $f"
    else
        bad=$((bad + 1))
        echo "not ok $n - $f (run: clang-format -i $f)"
    fi
done < <(git ls-files '*.c' '*.h' 2>/dev/null || find common services tests proto -name '*.[ch]')
echo "1..$n"
[ "$bad" = 0 ]
