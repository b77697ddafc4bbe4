#!/bin/bash
# Benchmark: does a lookup cost the slowest zone or the sum of the zones?
#
# rbldnsd serves five zones; t/dnsdelay in front of it holds every answer
# for DELAY ms (default 200).  rblmilter --check looks up ROUNDS batches of
# IPs with one zone configured, then with all five, and prints the median
# and maximum dns_ms of each and the ratio five/one.  Run from a build tree
# (or set RBLMILTER and DNSDELAY): bash ../../t/bench/parallel-zones.sh
set -euo pipefail
RBLMILTER=${RBLMILTER:-./rblmilter}
DNSDELAY=${DNSDELAY:-./t/dnsdelay}
DELAY=${DELAY:-200}
ROUNDS=${ROUNDS:-10}

dir=$(mktemp -d /tmp/rblbench.XXXXXX)
chmod 755 "$dir"
pids=()
cleanup() {
	kill "${pids[@]}" 2>/dev/null || true
	wait 2>/dev/null || true
	rm -rf "$dir"
}
trap cleanup EXIT

printf '$TTL 300\n127.0.0.2\n' >"$dir/zone"
chmod 644 "$dir/zone"
port=$((20000 + RANDOM % 20000))
rbldnsd -n -q -b "127.0.0.1/$port" -w "$dir" \
	z1.test:ip4set:zone z2.test:ip4set:zone z3.test:ip4set:zone \
	z4.test:ip4set:zone z5.test:ip4set:zone >/dev/null 2>&1 &
pids+=($!)
"$DNSDELAY" -l 127.0.0.1:0 -u "127.0.0.1:$port" -r ".=$DELAY" \
	>"$dir/delay.port" &
pids+=($!)
for _ in $(seq 50); do
	[ -s "$dir/delay.port" ] && break
	sleep 0.1
done
delay_port=$(awk '{print $2}' "$dir/delay.port")

# config NAME SITES: a configuration for the delayed server.
config() {
	printf 'dns_servers = 127.0.0.1:%s\ndnsbl_sites = %s\ndnsbl_timeout = 5s\n' \
		"$delay_port" "$2" >"$dir/$1.conf"
}
config one "z1.test"
config five "z1.test z2.test z3.test z4.test z5.test"

# Wait until rbldnsd answers through the delay.
for _ in $(seq 50); do
	"$RBLMILTER" -c "$dir/one.conf" --check 127.0.0.2 >/dev/null 2>&1 && break
	[ $? -eq 1 ] && break
	sleep 0.1
done

# measure NAME: ROUNDS runs of 10 IPs each; prints "p50 max" of dns_ms.
measure() {
	for round in $(seq "$ROUNDS"); do
		for i in $(seq 10); do echo "192.0.2.$((round * 10 + i))"; done |
			"$RBLMILTER" -c "$dir/$1.conf" --check || true
	done | sed -n 's/.* dns_ms=\([0-9]*\).*/\1/p' | sort -n |
		awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)], v[NR], NR }'
}

read -r one_p50 one_max one_n < <(measure one)
read -r five_p50 five_max five_n < <(measure five)
printf 'parallel-zones: every zone answers after %d ms\n' "$DELAY"
printf '%-6s %8s %10s %8s\n' zones lookups "p50 ms" "max ms"
printf '%-6s %8s %10s %8s\n' 1 "$one_n" "$one_p50" "$one_max"
printf '%-6s %8s %10s %8s\n' 5 "$five_n" "$five_p50" "$five_max"
awk -v a="$five_p50" -v b="$one_p50" 'BEGIN {
	printf "ratio 5 zones / 1 zone (p50): %.2f  (queried one after another: 5.00)\n", a / b }'
