#!/usr/bin/env bash
# Every property of every sfa binary is accepted (and ignored) by every
# other binary, so one RTPROP or one launcher command line can serve the
# whole suite; and a name no service knows is refused with exit 1.
#   config_known_test.sh BUILD_DIR
set -u
build=$1
bins="sfa sfa-collector sfa-aggregator sfa-events sfa-gateway sfa-scripts"
n=0; failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
notok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; }

args=()
for b in $bins; do
    [ -x "$build/$b" ] || continue
    while IFS= read -r line; do
        case $line in *=*) args+=("-D${line%%=*}=${line#*=}") ;; esac
    done < <("$build/$b" --dump-config 2>/dev/null)
done
if [ ${#args[@]} -gt 20 ]; then ok "collected ${#args[@]} properties"; else notok "collected ${#args[@]} properties"; fi

for b in $bins; do
    [ -x "$build/$b" ] || continue
    if out=$("$build/$b" "${args[@]}" --dump-config 2>&1); then
        ok "$b accepts every suite property"
    else
        notok "$b accepts every suite property"
        echo "$out" | grep -v '=' | sed 's/^/# /' | head -5
    fi
    if "$build/$b" -Dno.such.property=1 --dump-config >/dev/null 2>&1; then
        notok "$b refuses an unknown property"
    else
        rc=$?
        if [ "$rc" = 1 ]; then ok "$b refuses an unknown property (exit 1)"; else notok "$b refuses an unknown property with exit 1 (got $rc)"; fi
    fi
done
echo "1..$n"
[ "$failed" = 0 ]
