#!/usr/bin/env bash
# Decode the same sFlow capture with sfa, tshark and pmacct's sfacctd and
# print CPU seconds and flow samples per CPU second for each, for scale.
# Prints numbers, asserts nothing.
#   tests/bench/bench_peers.sh [BUILD_DIR] [DATAGRAMS]
# Needs Debian's tshark and pmacct (installed if missing).
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build}
count=${2:-20000}
for p in tshark pmacct; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$p" >/dev/null
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
pcap=$work/gen.pcap
"$build/sfa-gen" --agents 20 --flows 100 --mix6 0.3 --pcap "$pcap" --count "$count" --quiet
samples=$((count * 6))

cpu() { # command... -> user+sys CPU seconds of the command and its children
    /usr/bin/time -f "%U %S" -o "$work/t" "$@" >/dev/null 2>&1 || true
    awk '{printf "%.3f", $1 + $2}' "$work/t"
}
report() {
    awk -v n="$1" -v s="$2" 'BEGIN { printf "%-34s %8.3f CPU s %12.0f flow samples per CPU s\n", n, s, (s > 0 ? ENVIRON["SAMPLES"] / s : 0) }'
}
export SAMPLES=$samples
echo "capture: $count datagrams, $samples flow samples (sfa-gen, 20 agents, 30% IPv6 flows)"
BENCH_SECONDS=2 "$build/tests/bench/bench-decode" "$pcap" | grep -v "(all files)"
report "tshark -V (full dissection)" "$(cpu tshark -r "$pcap" -d udp.port==6343,sflow -V)"
report "tshark -T fields (ip pairs)" "$(cpu tshark -r "$pcap" -d udp.port==6343,sflow -T fields -e ip.src -e ip.dst)"
cat > "$work/sfacctd.conf" <<EOC
daemonize: false
pcap_savefile: $pcap
plugins: print
print_output_file: /dev/null
print_refresh_time: 60
aggregate: src_host, dst_host
EOC
report "sfacctd (pmacct, print plugin)" "$(cpu sfacctd -f "$work/sfacctd.conf")"
