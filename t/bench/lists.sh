#!/bin/bash
# Benchmark: what the Redis client lists cost a fleet, and how fast a
# change reaches every host.
#
# A redis-server on loopback holds a relay set of MEMBERS members (default
# "200000 1000000"); t/bench/listfleet runs HOSTS simulated MX hosts
# (default "1 10 50"), each with its own connection, event loop and lists,
# and prints Redis CPU per idle host and second, and the time from an
# SADD (the set grows) and from an SREM with an SADD (same size) until
# every host relays the new member.  The baseline, in the same run, is
# how rblmilter read lists before: every set whole with SMEMBERS each
# second (BASE_HOSTS, default "1 10", at the first size only: at a
# million members and more hosts it saturates Redis).  On 2 cores the
# hosts' own parsing after a change competes for the CPU, so "all" grows
# with HOSTS here more than on a fleet of machines; Redis' CPU per change
# is the figure that shows what the fleet costs the server.
# Run from a build tree (or set LISTFLEET): bash ../../t/bench/lists.sh
set -euo pipefail
LISTFLEET=${LISTFLEET:-./t/bench/listfleet}
MEMBERS=${MEMBERS:-200000 1000000}
HOSTS=${HOSTS:-1 10 50}
BASE_HOSTS=${BASE_HOSTS:-1 10}
IDLE=${IDLE:-10}
. "$(dirname "$0")/../lib.sh"

lib_setup lists 21000
trap lib_cleanup EXIT
lib_need redis-server redis-cli
lib_redis

# load N: the relay set holds N addresses and 192.0.2.1.
load() {
	redis-cli -p "$redis_port" DEL rblmilter:relay rblmilter:allow \
		rblmilter:deny >/dev/null
	redis-cli -p "$redis_port" EVAL "
		for i = 0, tonumber(ARGV[1]) - 1 do
			redis.call('SADD', KEYS[1], '10.' .. math.floor(i / 65536) % 256
				.. '.' .. math.floor(i / 256) % 256 .. '.' .. i % 256)
		end
		redis.call('SADD', KEYS[1], '192.0.2.1')" 1 rblmilter:relay "$1" \
		>/dev/null
}

# run LABEL ARGS...: one fleet; its lines prefixed with LABEL.
run() {
	local label=$1
	shift
	"$LISTFLEET" -p "$redis_port" -i "$IDLE" "$@" | sed "s/^/  $label /"
}

echo "lists: $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg), Redis $(redis-server --version | sed 's/.*v=\([^ ]*\).*/\1/')"
first=1
for m in $MEMBERS; do
	load "$m"
	echo "relay set of $(redis-cli -p "$redis_port" SCARD rblmilter:relay) members"
	if [ "$first" = 1 ]; then
		for n in $BASE_HOSTS; do
			run "baseline hosts=$n" -b -n "$n"
		done
	fi
	for n in $HOSTS; do
		run "listsync hosts=$n" -n "$n"
	done
	first=0
done
