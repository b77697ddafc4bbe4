#!/bin/bash
# Soak: rblmilter under steady load for DURATION seconds, to show whether
# its memory, descriptors and threads stay flat.
#
# rbldnsd (bl.test lists 127.0.0.2) and redis-server run on loopback
# ports; the daemon listens on a unix socket, with Redis, a memory cache
# of CACHE_SIZE verdicts and verdicts reused for TTL seconds, so that
# entries are evicted and expire all along.  t/bench/milterload keeps
# CONC sessions going at once, from IPS distinct clients
# (198.18.0.0/15), until DURATION is over.  A SIGHUP every HUP_EVERY
# seconds (0: none) puts a new generation in force, so that reloads are
# soaked too.  The memory cache fills within seconds, but RSS also rises
# in steps at the first few reloads (two generations live side by side
# for a second, and the allocator keeps its high-water mark), so WARMUP
# should take in a few reloads.
#
# Every INTERVAL seconds one line: seconds since the start, the daemon's
# VmRSS (kB), open descriptors and threads.  At the end the first sample
# at or after WARMUP seconds is compared with the last one:
#     rss: flat (+2.1%)            rss: GROWS (+35.0%)
#     fds: flat (14 -> 15)         threads: flat (7 -> 7)
# flat is less than 10% growth; descriptors and threads may also differ
# by CONC, the sessions in flight when a sample is taken.  Then
# milterload's totals, the reloads and Redis disconnections the log
# shows, and whether the daemon stopped cleanly.  Exit status 0 when
# everything stayed flat and the daemon stopped with status 0, 1
# otherwise.
#
# Not part of make check: it takes minutes.  From a build tree (or set
# RBLMILTER and MILTERLOAD):
#     DURATION=300 WARMUP=60 HUP_EVERY=10 bash ../../t/soak.sh
set -u
here=$(cd "$(dirname "$0")" && pwd)
RBLMILTER=${RBLMILTER:-$PWD/rblmilter}
MILTERLOAD=${MILTERLOAD:-$PWD/t/bench/milterload}
DURATION=${DURATION:-600}
WARMUP=${WARMUP:-120}
INTERVAL=${INTERVAL:-5}
CONC=${CONC:-8}
IPS=${IPS:-100000}
CACHE_SIZE=${CACHE_SIZE:-5000}
TTL=${TTL:-60}
HUP_EVERY=${HUP_EVERY:-30}
. "$here/lib.sh"

lib_setup soak 28000
trap lib_cleanup EXIT
lib_need rbldnsd redis-server redis-cli awk "$RBLMILTER" "$MILTERLOAD"
[ "$WARMUP" -lt "$DURATION" ] || lib_die "WARMUP must be below DURATION"

lib_rbldnsd
lib_redis
sock=$(lib_sockdir)/rblmilter.sock
lib_rblmilter_conf "$dir/soak.conf" "milter_socket = unix:$sock
cache_size = $CACHE_SIZE
dnsbl_min_ttl = $TTL
dnsbl_max_ttl = $TTL
dnsbl_timeout = 500ms
"
# One log line per session would fill the disk: only the others are kept.
"$RBLMILTER" -c "$dir/soak.conf" -f \
	> >(grep --line-buffered -v ' action=' >>"$dir/rblmilter.log") 2>&1 &
milter_pid=$!
lib_pids+=("$milter_pid")
lib_wait_for 10 test -S "$sock" || lib_die "rblmilter did not start"

# Sessions go on a little past DURATION, so that every sample is under load.
"$MILTERLOAD" -s "unix:$sock" -c "$CONC" -n 10000000 -r "$IPS" \
	-t $((DURATION + INTERVAL)) >"$dir/load.out" 2>&1 &
load_pid=$!
lib_pids+=("$load_pid")

# sample: "SECONDS RSS_KB FDS THREADS" of the daemon now.
sample() {
	local fds
	fds=$(find "/proc/$milter_pid/fd" -mindepth 1 -maxdepth 1 | wc -l)
	awk -v t="$1" -v fds="$fds" '
		$1 == "VmRSS:" { rss = $2 }
		$1 == "Threads:" { threads = $2 }
		END { printf "%5d %8d %5d %7d\n", t, rss, fds, threads }' \
		"/proc/$milter_pid/status"
}

start=$SECONDS
last_hup=0
echo "    t   rss_kb   fds threads"
while [ $((SECONDS - start)) -le "$DURATION" ]; do
	t=$((SECONDS - start))
	kill -0 "$milter_pid" 2>/dev/null || lib_die "rblmilter died at ${t}s"
	kill -0 "$load_pid" 2>/dev/null ||
		lib_die "milterload ended at ${t}s: $(tail -n 3 "$dir/load.out")"
	sample "$t" | tee -a "$dir/samples"
	if [ "$HUP_EVERY" -gt 0 ] && [ $((t - last_hup)) -ge "$HUP_EVERY" ]; then
		kill -HUP "$milter_pid"
		last_hup=$t
	fi
	sleep "$INTERVAL"
done
wait "$load_pid"

# The verdicts: first sample at or after WARMUP against the last one.
awk -v warmup="$WARMUP" -v conc="$CONC" '
	$1 >= warmup && !seen { rss0 = $2; fds0 = $3; thr0 = $4; seen = 1 }
	{ rss = $2; fds = $3; thr = $4 }
	function flat(first, last, slack) {
		return last <= first * 1.1 + slack ? "flat" : "GROWS"
	}
	END {
		if (!seen) { print "no sample after the warm-up"; exit 1 }
		growth = (rss - rss0) * 100 / rss0
		printf "rss: %s (%+.1f%%, %d kB -> %d kB)\n",
		    flat(rss0, rss, 0), growth, rss0, rss
		printf "fds: %s (%d -> %d)\n", flat(fds0, fds, conc), fds0, fds
		printf "threads: %s (%d -> %d)\n", flat(thr0, thr, conc), thr0,
		    thr
		exit flat(rss0, rss, 0) != "flat" || flat(fds0, fds, conc) != \
		    "flat" || flat(thr0, thr, conc) != "flat"
	}' "$dir/samples" || failed=1
grep -E '^(started|total_n|reply_)' "$dir/load.out"
echo "reloads: $(grep -c 'configuration reloaded' "$dir/rblmilter.log")," \
	"redis down: $(grep -c 'is down' "$dir/rblmilter.log") times"
if lib_stopped "$milter_pid"; then
	echo "rblmilter stopped cleanly"
else
	echo "rblmilter did not stop cleanly"
	failed=1
fi
exit "$failed"
