#!/bin/bash
# Benchmark: rblmilter against t/nullmilter, scenario by scenario, under
# t/bench/milterload (SMTP sessions spoken to the milter as Postfix does).
#
# For each scenario a fresh t/nullmilter, then a fresh rblmilter with a
# configuration written here, gets the same milterload run; printed for
# each: sessions per second, the ratio rblmilter / null, p50 and p99 of
# the RCPT step (where rblmilter waits for its verdict) and of the whole
# session, errors, how sessions ended, the milter's CPU seconds during the
# run (/proc/PID/stat) and its peak RSS (VmHWM).  rbldnsd serves five
# zones, z1.test to z5.test, each listing 198.19.192.0/18; t/dnsdelay in
# front of it drops z5.test for scenario d.
#   a  every verdict in memory: HIT_IPS IPs, the cache warmed with them
#   a1 the same, one session at a time (LAT_N sessions): no queueing
#   b  every verdict in Redis (cache_size = 0: no memory cache), HIT_IPS
#      IPs, Redis warmed with them
#   b1 the same, one session at a time (LAT_N sessions)
#   c  cache misses: MISS_N distinct IPs, one in ten listed (550 at RCPT)
#   d  one zone of five never answers; dnsbl_timeout = 500ms
#   e  MANY_N distinct clients (all cache misses, all clean)
#   f  CONC_F sessions at once, CONC_N distinct IPs, one in ten listed
#   g  a burst: BURST_N sessions at once (default 1000), every client
#      listed by z1-z4, z5.test never answers: every one must be refused
#      (the zones that answer decide while z5 holds its own share only)
#   h  greylisting (dnsbl_threshold 6, greylist_threshold 1: the five
#      zones make HIT_IPS grey clients), one session at a time, verdicts
#      in memory, the clients' /24 networks passed (PREFIX gp: keys set
#      with redis-cli first): each RCPT asks Redis once (EXISTS); compare
#      with a1 for what greylisting adds to a passing grey client
#   h2 the same clients as /32 networks, none passed, every triplet seen
#      by the warm-up run: each RCPT is an early retry, deferred after
#      three Redis commands (EXISTS, SET NX, GET), the most one costs
#   t  action = tag: HIT_IPS clients, every one listed, verdicts in
#      memory, one session at a time (LAT_N sessions): each message gets
#      the tag header at end of message, a reply of two packets (over
#      TCP, what TCP_NODELAY on the milter socket is for); the end of
#      message's p50 and p99 are shown too
#   r  rblmilter alone: RSS_N sessions (default 1,000,000), CONC at once,
#      from RSS_IPS distinct IPs (default 50,000: the first pass misses,
#      the rest hit), in ten milterload runs; its RSS (VmRSS) after each
#      tenth, and the growth from the first tenth (the cache then full)
#      to the last.  Not in the default SCENARIOS: it takes about five
#      minutes on 2 cores.
# A run that did not finish within RUN_TIMEOUT seconds shows as such.
# Also shown: UDP datagrams the kernel dropped for a full receive buffer
# during the rblmilter run, at rbldnsd's socket (rbldnsd asks for 64 KB)
# and elsewhere on the host (/proc/net/snmp), which under load means the
# answers at rblmilter's own resolver socket.  A lost query or answer is
# sent again by c-ares after half of dnsbl_timeout (1 s lookups in p99);
# one lost twice makes the zone time out.
#
# Milters listen on unix sockets by default (SOCKET_KIND=unix);
# SOCKET_KIND=inet runs them over TCP on loopback.  t/mclient writes
# macro packets, and the steps a milter does not answer, with the next
# step it answers, in one send(), as Postfix does, so TCP costs no Nagle
# stall.
#
# Numbers, not assertions: exit status 1 only when something could not be
# set up.  From a build tree (or set RBLMILTER, NULLMILTER, DNSDELAY,
# MILTERLOAD):
#     bash ../../t/bench/milter-scenarios.sh
# Scale with CONC (sessions at once, default 50), HIT_N (20000), HIT_IPS
# (1000), LAT_N (5000), MISS_N (10000), DROP_N (1000), MANY_N (100000),
# CONC_F (1000), CONC_N (20000), BURST_N (1000), RSS_N, RSS_IPS;
# SCENARIOS="a c" runs only those (default: a a1 b b1 c d e f g h h2 t);
# VERBOSE=1 prints milterload's whole output.  With the defaults it takes
# about two and a half minutes on 2 cores.  Scenarios b and b1 need
# redis-server, and so do h and h2.
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
RBLMILTER=${RBLMILTER:-$PWD/rblmilter}
NULLMILTER=${NULLMILTER:-$PWD/t/nullmilter}
DNSDELAY=${DNSDELAY:-$PWD/t/dnsdelay}
MILTERLOAD=${MILTERLOAD:-$PWD/t/bench/milterload}
SOCKET_KIND=${SOCKET_KIND:-unix}
CONC=${CONC:-50}
HIT_N=${HIT_N:-20000}
HIT_IPS=${HIT_IPS:-1000}
LAT_N=${LAT_N:-5000}
MISS_N=${MISS_N:-10000}
DROP_N=${DROP_N:-1000}
MANY_N=${MANY_N:-100000}
CONC_F=${CONC_F:-1000}
CONC_N=${CONC_N:-20000}
BURST_N=${BURST_N:-1000}
RSS_N=${RSS_N:-1000000}
RSS_IPS=${RSS_IPS:-50000}
RUN_TIMEOUT=${RUN_TIMEOUT:-120}
VERBOSE=${VERBOSE:-0}
SCENARIOS=${SCENARIOS:-a a1 b b1 c d e f g h h2 t}
. "$here/lib.sh"

lib_setup scenarios 26000
trap lib_cleanup EXIT
lib_need rbldnsd awk timeout "$RBLMILTER" "$NULLMILTER" "$DNSDELAY" \
	"$MILTERLOAD"
case $SOCKET_KIND in
unix | inet) ;;
*) lib_die "SOCKET_KIND is unix or inet, not $SOCKET_KIND" ;;
esac
hz=$(getconf CLK_TCK)

# A descriptor per session in milterload and in the milters, a thread per
# session in milterload, and in a milter one per session that waits in a
# callback (libmilter's workers; rblmilter waits at RCPT): raise the soft
# limit on descriptors to the hard one.
ulimit -n "$(ulimit -Hn)" 2>/dev/null
need_fds=$((CONC_F + 100))
[ "$(ulimit -n)" = unlimited ] || [ "$(ulimit -n)" -ge "$need_fds" ] ||
	lib_die "ulimit -n is $(ulimit -n); $CONC_F sessions need $need_fds"
need_threads=$((2 * CONC_F + 200))
[ "$(ulimit -u)" = unlimited ] || [ "$(ulimit -u)" -ge "$need_threads" ] ||
	lib_die "ulimit -u is $(ulimit -u); $CONC_F sessions need $need_threads"

# The zones: every zone lists 127.0.0.2 and 198.19.192.0/18, which the
# generated clients (198.18.0.1 up to 198.19.191.255) never reach.
printf '$TTL 300\n127.0.0.2\n198.19.192.0/18\n' >"$dir/zone"
chmod 644 "$dir/zone"
dns_port=$(lib_port)
rbldnsd -n -q -b "127.0.0.1/$dns_port" -w "$dir" z1.test:ip4set:zone \
	z2.test:ip4set:zone z3.test:ip4set:zone z4.test:ip4set:zone \
	z5.test:ip4set:zone >/dev/null 2>&1 &
lib_pids+=($!)
"$DNSDELAY" -l 127.0.0.1:0 -u "127.0.0.1:$dns_port" -r z5.test=drop \
	>"$dir/delay.port" 2>&1 &
lib_pids+=($!)
lib_wait_for 5 test -s "$dir/delay.port" || lib_die "dnsdelay did not start"
drop_port=$(awk '{ print $2 }' "$dir/delay.port")
echo 192.0.2.1 >"$dir/probe.ips"

# config NAME DNS_PORT TIMEOUT [SETTINGS]: rblmilter's configuration for a
# scenario; SETTINGS (lines) replace the memory cache's size.
config() {
	cat >"$dir/$1.conf" <<EOF
dns_servers = 127.0.0.1:$2
dnsbl_sites = z1.test, z2.test, z3.test, z4.test, z5.test
dnsbl_timeout = $3
dnsbl_min_ttl = 1h
dnsbl_max_ttl = 1h
${4:-cache_size = 1000000}
milter_socket = $(spec "rbl-$1")
$(lib_user)
EOF
	chmod 644 "$dir/$1.conf"
}

# spec NAME: the milter socket of that name, as libmilter writes it.
spec() {
	if [ "$SOCKET_KIND" = unix ]; then
		echo "unix:$(lib_sockdir)/$1.sock"
	else
		[ -f "$dir/$1.port" ] || lib_port >"$dir/$1.port"
		echo "inet:$(cat "$dir/$1.port")@127.0.0.1"
	fi
}

# answers SPEC: one session goes through the milter.
answers() {
	timeout 5 "$MILTERLOAD" -s "$1" -n 1 -i "$dir/probe.ips" 2>/dev/null |
		grep -q ' done=1 '
}

# ipfile NAME N: N distinct clients, every tenth one listed.
ipfile() {
	awk -v n="$2" -v every="${3:-10}" 'BEGIN {
		for (k = 0; k < n; k++)
			if (k % every == every - 1) {
				a = 192 * 256 + int(k / every) + 1
				printf "198.19.%d.%d\n", int(a / 256), a % 256
			} else {
				a = k + 1
				printf "198.%d.%d.%d\n", 18 + int(a / 65536),
				    int(a / 256) % 256, a % 256
			}
	}' >"$dir/$1.ips"
}

# start KIND NAME: start nullmilter (KIND null) or rblmilter with
# $dir/NAME.conf (KIND rbl); sets pid and sock.
start() {
	sock=$(spec "$1-$2")
	if [ "$1" = null ]; then
		"$NULLMILTER" -p "$sock" >>"$dir/null.stderr" 2>&1 &
	else
		"$RBLMILTER" -f -c "$dir/$2.conf" >"$dir/rbl-$2.stderr" 2>&1 &
	fi
	pid=$!
	lib_pids+=("$pid")
	lib_wait_for 10 answers "$sock" || {
		tail -n 5 "$dir/null.stderr" "$dir/rbl-$2.stderr" 2>/dev/null
		lib_die "$1 milter ($2) does not answer on $sock"
	}
}

# stop: SIGTERM, then sessions until libmilter looks at its stop flag;
# sets stop_status.
stop() {
	local tries=100
	kill -TERM "$pid"
	while kill -0 "$pid" 2>/dev/null && [ "$tries" -gt 0 ]; do
		timeout 2 "$MILTERLOAD" -s "$sock" -n 1 -i "$dir/probe.ips" \
			>/dev/null 2>&1
		sleep 0.1
		tries=$((tries - 1))
	done
	kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
	wait "$pid"
	stop_status=$?
}

# udp_drops: datagrams the kernel dropped at rbldnsd's and dnsdelay's
# listening sockets because their receive buffer was full.
udp_drops() {
	awk -v a="$(printf ':%04X' "$dns_port")" -v b="$(printf ':%04X' "$drop_port")" '
		substr($2, length($2) - 4) == a || substr($2, length($2) - 4) == b {
			n += $13 }
		END { print n + 0 }' /proc/net/udp
}

# rcvbuf_errors: UDP datagrams dropped for a full receive buffer, on the
# whole host (/proc/net/snmp RcvbufErrors).
rcvbuf_errors() {
	awk '$1 == "Udp:" && $2 ~ /^[0-9]+$/ { print $6 }' /proc/net/snmp
}

# kv FILE KEY: the value of KEY in milterload's output.
kv() {
	grep -oE "(^| )$2=[^ ]*" "$1" | head -n 1 | sed 's/.*=//'
}

# peaks PID: until $dir/peaks.stop exists, the most threads and open
# descriptors PID had, sampled every 0.1 s, as peak_threads= and
# peak_fds= lines.
peaks() {
	local t f mt=0 mf=0
	while [ ! -e "$dir/peaks.stop" ] && [ -d "/proc/$1" ]; do
		t=$(awk '/^Threads:/ { print $2 }' "/proc/$1/status" 2>/dev/null)
		f=$(find "/proc/$1/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)
		[ "${t:-0}" -gt "$mt" ] && mt=$t
		[ "$f" -gt "$mf" ] && mf=$f
		sleep 0.1
	done
	echo "peak_threads=$mt"
	echo "peak_fds=$mf"
}

# run KIND NAME WARMUP ARGS...: one milter, an optional warm-up run (its
# milterload arguments in WARMUP, or ""), then the measured run; leaves
# milterload's output with cpu_s, rss_mb and stop_status in
# $dir/NAME.KIND.out.
run() {
	local kind=$1 name=$2 warm=$3 out before drops all status sampler
	shift 3
	out=$dir/$name.$kind.out
	start "$kind" "$name"
	if [ -n "$warm" ]; then
		# shellcheck disable=SC2086
		timeout "$RUN_TIMEOUT" "$MILTERLOAD" -s "$sock" $warm >/dev/null 2>&1
	fi
	before=$(lib_cpu_ticks "$pid")
	drops=$(udp_drops)
	all=$(rcvbuf_errors)
	rm -f "$dir/peaks.stop"
	peaks "$pid" >"$out.peaks" &
	sampler=$!
	timeout "$RUN_TIMEOUT" "$MILTERLOAD" -s "$sock" "$@" >"$out" 2>"$out.err"
	status=$?
	touch "$dir/peaks.stop"
	wait "$sampler"
	{
		cat "$out.peaks"
		awk -v a="$before" -v b="$(lib_cpu_ticks "$pid")" -v hz="$hz" \
			'BEGIN { printf "cpu_s=%.2f\n", (b - a) / hz }'
		awk '/^VmHWM:/ { printf "rss_mb=%.1f\n", $2 / 1024 }' "/proc/$pid/status"
		drops=$(($(udp_drops) - drops))
		echo "dns_drops=$drops"
		echo "other_drops=$(($(rcvbuf_errors) - all - drops))"
		[ "$status" -eq 124 ] && echo "timed_out=$RUN_TIMEOUT"
	} >>"$out"
	stop
	echo "stop_status=$stop_status" >>"$out"
	if [ "$VERBOSE" = 1 ]; then
		echo "--- $kind $name: milterload $*"
		cat "$out" "$out.err"
	fi
}

# row KIND NAME LABEL: one line of the table.
row() {
	local f=$dir/$2.$1.out replies
	replies=$(grep -oE 'reply_[a-z_0-9]+=[0-9]+' "$f" | sed 's/^reply_//' | tr '\n' ' ')
	printf '  %-10s %8s %8s %8s %9s %7s %6s %8s %7s  %s%s%s\n' "$3" \
		"$(kv "$f" tps)" "$(kv "$f" rcpt_p50_ms)" "$(kv "$f" rcpt_p99_ms)" \
		"$(kv "$f" total_p99_ms)" "$(kv "$f" errors)" "$(kv "$f" cpu_s)" \
		"$(awk -v c="$(kv "$f" cpu_s)" -v n="$(kv "$f" done)" \
			'BEGIN { printf "%.3f", (n > 0 ? c * 1000 / n : 0) }')" \
		"$(kv "$f" rss_mb)" "$replies" \
		"$(grep -q timed_out "$f" && echo " TIMED OUT after ${RUN_TIMEOUT}s")" \
		"$(kv "$f" stop_status | awk '$1 != 0 { print " exit status " $1 }')"
	[ -s "$f.err" ] && sed 's/^/             /' "$f.err"
	return 0
}

# tally KEY NAME: " value=count" for each value of KEY in rblmilter's log
# of scenario NAME.
tally() {
	grep -oE " $1=[a-z-]+" "$dir/rbl-$2.stderr" | sed "s/^ $1=//" | sort |
		uniq -c | awk '{ printf " %s=%d", $2, $1 }'
}

# scenario NAME TITLE WARMUP ARGS...: both milters, then their table.
scenario() {
	local name=$1 title=$2 warm=$3 null rbl problems
	shift 3
	case " $SCENARIOS " in
	*" $name "*) ;;
	*) return 0 ;;
	esac
	run null "$name" "$warm" "$@"
	run rbl "$name" "$warm" "$@"
	null=$dir/$name.null.out
	rbl=$dir/$name.rbl.out
	echo
	echo "scenario $name: $title"
	echo "  milterload $*"
	printf '  %-10s %8s %8s %8s %9s %7s %6s %8s %7s  %s\n' milter tps \
		"rcpt p50" "rcpt p99" "total p99" errors "cpu s" "ms/sess" \
		"RSS MB" "how sessions ended"
	row null "$name" null
	row rbl "$name" rblmilter
	awk -v a="$(kv "$rbl" tps)" -v b="$(kv "$null" tps)" \
		-v r="$(kv "$rbl" rcpt_p99_ms)" -v s="$(kv "$null" rcpt_p99_ms)" \
		-v t="$(kv "$rbl" total_p99_ms)" -v u="$(kv "$null" total_p99_ms)" 'BEGIN {
		printf "  ratio rblmilter/null tps %.2f; added p99 (ms): rcpt %+.3f, session %+.3f\n",
		    (b > 0 ? a / b : 0), r - s, t - u }'
	[ "$(kv "$rbl" eom_n)" -gt 0 ] 2>/dev/null &&
		printf '  end of message p50/p99 (ms): null %s/%s, rblmilter %s/%s\n' \
			"$(kv "$null" eom_p50_ms)" "$(kv "$null" eom_p99_ms)" \
			"$(kv "$rbl" eom_p50_ms)" "$(kv "$rbl" eom_p99_ms)"
	[ "$(kv "$rbl" dns_drops)" -gt 0 ] || [ "$(kv "$rbl" other_drops)" -gt 0 ] &&
		printf '  %s: %s queries at rbldnsd, %s elsewhere %s\n' \
			"UDP datagrams dropped for a full receive buffer in the rblmilter run" \
			"$(kv "$rbl" dns_drops)" "$(kv "$rbl" other_drops)" \
			"(answers at rblmilter's resolver socket, unless another process lost them)"
	echo "  rblmilter's log lines (warm-up and probes included): cache$(tally cache "$name");" \
		"reason$(tally reason "$name")"
	echo "  rblmilter at most: $(kv "$rbl" peak_threads) threads, $(kv "$rbl" peak_fds) open descriptors (ulimit -n $(ulimit -n))"
	problems=$(grep -cE 'warning:|error:|panic:|Sanitizer' "$dir/rbl-$name.stderr")
	if [ "$problems" -gt 0 ]; then
		echo "  rblmilter logged $problems warnings or errors, the first:"
		grep -m 3 -E 'warning:|error:|panic:|Sanitizer' "$dir/rbl-$name.stderr" |
			sed 's/^/    /'
	fi
	return 0
}

# rss: scenario r, rblmilter alone; RSS after each tenth of RSS_N sessions.
rss() {
	local k n out chunk=$((RSS_N / 10)) rss_kb=() ended=0 errors=0 start secs
	case " $SCENARIOS " in
	*" r "*) ;;
	*) return 0 ;;
	esac
	start rbl r
	start=$(date +%s%N)
	for k in $(seq 10); do
		out=$dir/r.$k.out
		timeout "$RUN_TIMEOUT" "$MILTERLOAD" -s "$sock" -c "$CONC" \
			-n "$chunk" -r "$RSS_IPS" >"$out" 2>"$out.err"
		[ "$?" -eq 124 ] && echo "  run $k of 10 TIMED OUT after ${RUN_TIMEOUT}s"
		n=$(kv "$out" "done")
		ended=$((ended + ${n:-0}))
		n=$(kv "$out" errors)
		errors=$((errors + ${n:-0}))
		rss_kb+=("$(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status")")
	done
	secs=$((($(date +%s%N) - start) / 1000000))
	stop
	echo
	echo "scenario r: RSS over $RSS_N sessions, $CONC at once, $RSS_IPS distinct IPs (cache_size 1000000)"
	echo "  done $ended, errors $errors, $(awk -v n="$ended" -v ms="$secs" 'BEGIN { printf "%.0f", n * 1000 / ms }') sessions/s, exit status $stop_status"
	echo "  VmRSS (MB) after each tenth: $(printf '%s\n' "${rss_kb[@]}" | awk '{ printf "%.1f ", $1 / 1024 }')"
	awk -v a="${rss_kb[0]}" -v b="${rss_kb[9]}" 'BEGIN {
		printf "  growth from the first tenth to the last: %+.1f%%\n", (b - a) * 100 / a }'
	grep -h -m 1 . "$dir"/r.*.out.err 2>/dev/null | head -n 3 | sed 's/^/  /'
	return 0
}

config a "$dns_port" 2s
config a1 "$dns_port" 2s
case " $SCENARIOS " in
*" b "* | *" b1 "* | *" h "* | *" h2 "*)
	lib_need redis-server redis-cli
	lib_redis
	config b "$dns_port" 2s "cache_size = 0
redis_server = 127.0.0.1:$redis_port"
	config b1 "$dns_port" 2s "cache_size = 0
redis_server = 127.0.0.1:$redis_port"
	grey="cache_size = 1000000
redis_server = 127.0.0.1:$redis_port
dnsbl_threshold = 6
greylist_threshold = 1"
	config h "$dns_port" 2s "$grey"
	config h2 "$dns_port" 2s "$grey
greylist_network_v4 = 32"
	# Scenario h's networks have passed; h2's triplets are made by its
	# warm-up run.
	for k in $(seq 192 255); do
		echo "SET rblmilter:gp:198.19.$k.0/24 0 EX 3600"
	done | redis-cli -p "$redis_port" >/dev/null
	;;
esac
config c "$dns_port" 2s
config d "$drop_port" 500ms
config e "$dns_port" 2s
config f "$dns_port" 2s
config g "$drop_port" 2s
config r "$dns_port" 2s
config t "$dns_port" 2s "cache_size = 1000000
action = tag"
ipfile miss "$MISS_N"
ipfile conc "$CONC_N"
ipfile burst "$BURST_N" 1
ipfile grey "$HIT_IPS" 1
ipfile listed "$HIT_IPS" 1

echo "milter-scenarios: milterload against t/nullmilter and rblmilter over $SOCKET_KIND sockets"
echo "  $(nproc) CPUs, ulimit -n $(ulimit -n), ulimit -u $(ulimit -u); rblmilter: 5 zones on a local rbldnsd, threshold 1, reject at RCPT"
echo "  columns: sessions/s; RCPT step p50/p99 ms; whole-session p99 ms; errors; milter CPU s in the run (ms/sess: CPU ms per session); peak RSS"

scenario a "every verdict in the memory cache ($HIT_IPS IPs, warmed first), $CONC sessions at once" \
	"-c $CONC -n $HIT_IPS -r $HIT_IPS" -c "$CONC" -n "$HIT_N" -r "$HIT_IPS"
scenario a1 "as a, one session at a time: latency without queueing" \
	"-c 1 -n $HIT_IPS -r $HIT_IPS" -c 1 -n "$LAT_N" -r "$HIT_IPS"
scenario b "every verdict in Redis, no memory cache ($HIT_IPS IPs, warmed first), $CONC sessions at once" \
	"-c $CONC -n $HIT_IPS -r $HIT_IPS" -c "$CONC" -n "$HIT_N" -r "$HIT_IPS"
scenario b1 "as b, one session at a time: latency without queueing" \
	"-c 1 -n $HIT_IPS -r $HIT_IPS" -c 1 -n "$LAT_N" -r "$HIT_IPS"
scenario c "cache misses: $MISS_N distinct IPs, 1 in 10 listed, 5 zones on rbldnsd, $CONC sessions at once" \
	"" -c "$CONC" -n "$MISS_N" -i "$dir/miss.ips"
scenario d "z5.test never answers (dnsdelay drops it), dnsbl_timeout = 500ms, $DROP_N distinct IPs, $CONC at once" \
	"" -c "$CONC" -n "$DROP_N" -r "$DROP_N"
scenario e "$MANY_N distinct client IPs (all misses), $CONC sessions at once" \
	"" -c "$CONC" -n "$MANY_N" -r "$MANY_N"
scenario f "$CONC_F sessions at once, $CONC_N distinct IPs, 1 in 10 listed" \
	"" -c "$CONC_F" -n "$CONC_N" -i "$dir/conc.ips"
scenario g "a burst beside a silent zone: $BURST_N sessions at once, every client listed, z5.test never answers, dnsbl_timeout = 2s" \
	"" -c "$BURST_N" -n "$BURST_N" -i "$dir/burst.ips"
scenario h "greylisting: $HIT_IPS grey clients, networks passed, verdicts in memory (warmed), one session at a time" \
	"-c 1 -n $HIT_IPS -i $dir/grey.ips" -c 1 -n "$LAT_N" -i "$dir/grey.ips"
scenario h2 "greylisting: the same grey clients as /32 networks, every RCPT an early retry (deferred), one session at a time" \
	"-c 1 -n $HIT_IPS -i $dir/grey.ips" -c 1 -n "$LAT_N" -i "$dir/grey.ips"
scenario t "action = tag: $HIT_IPS listed clients, every message tagged, verdicts in memory (warmed), one session at a time" \
	"-c 1 -n $HIT_IPS -i $dir/listed.ips" -c 1 -n "$LAT_N" -i "$dir/listed.ips"
rss
exit 0
