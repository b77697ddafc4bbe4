#!/bin/bash
# Benchmark: does scraping the metrics endpoint slow decisions?
#
# One rblmilter (milter over a unix socket, metrics_socket on loopback,
# memory cache) asks ZONES (default three) on one rbldnsd, under
# t/bench/milterload at full speed: CONC sessions at once (default 50), N
# sessions a run (default 40000), every other client a memory-cache hit
# (one of 1,000 IPs warmed first) and the others a miss (an IP no run
# used before: a lookup on the loop thread, which also serves the page).
# Each run is made in one of four modes; the scrapers are one curl on
# one kept-alive connection, as a Prometheus keeps one:
#   none   no scraper (the baseline)
#   1/s    GET /metrics once a second (curl --rate), as a Prometheus
#          scraping every second would
#   flood  GET /metrics one after another, as fast as the endpoint answers
#   404    the same flood of GET /nothing: the HTTP exchange and curl's
#          own CPU without the page, to tell what rendering the page
#          costs from what any client this busy would cost
# ROUNDS rounds (default 5) of one run per mode, the order of the modes
# turned by one each round so that none is always first.  Printed per
# mode: decisions/s over all its runs, the median over the runs of the
# RCPT step's p50 and p99 (where a session waits for its verdict), each
# with its ratio to the baseline (the median over the rounds of the
# round's ratio, which a load that comes and goes moves less than a
# ratio of totals), the scrapes made per second
# and their median time, and the daemon's CPU per decision (the page's
# rendering included); then each run's decisions/s with the 1-minute load
# average at its start (the spread of one mode's runs is the noise the
# ratios are read against); last, what a scrape costs the daemon without
# load.  On 2 cores the flood's curl takes CPU from milterload and the
# daemon: the 404 row, the daemon's CPU per decision and the 1/s row say
# what the endpoint itself costs.
#
# Numbers, not assertions.  From a build tree (or set RBLMILTER and
# MILTERLOAD):
#     bash ../../t/bench/metrics-scrape.sh
# About two and a half minutes with the defaults on 2 cores.
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
RBLMILTER=${RBLMILTER:-$PWD/rblmilter}
MILTERLOAD=${MILTERLOAD:-$PWD/t/bench/milterload}
CONC=${CONC:-50}
N=${N:-40000}
ROUNDS=${ROUNDS:-5}
HIT_IPS=1000
ZONES=${ZONES:-z1.test z2.test z3.test}
SCRAPES=2000
RUN_TIMEOUT=${RUN_TIMEOUT:-120}
. "$here/lib.sh"

lib_setup scrape 24000
scraper_pid=""
trap '[ -z "$scraper_pid" ] || kill -- "-$scraper_pid"; lib_cleanup' EXIT
lib_need rbldnsd curl awk timeout "$RBLMILTER" "$MILTERLOAD"
hz=$(getconf CLK_TCK)

# shellcheck disable=SC2086
lib_rbldnsd 127.0.0.1 "$(lib_port)" $ZONES
metrics_port=$(lib_port)
sock=unix:$(lib_sockdir)/rbl.sock
lib_rblmilter_conf "$dir/rbl.conf" "milter_socket = $sock
metrics_socket = inet:127.0.0.1:$metrics_port
cache_size = 1000000
dnsbl_min_ttl = 1h
"
url=http://127.0.0.1:$metrics_port/metrics
lib_rblmilter "$dir/rbl.conf" "$metrics_port"
# curl's lists of transfers: SCRAPES of the page, SCRAPES of a 404.
for path in metrics nothing; do
	awk -v u="http://127.0.0.1:$metrics_port/$path" -v n="$SCRAPES" 'BEGIN {
		for (i = 0; i < n; i++)
			printf "url = \"%s\"\noutput = \"/dev/null\"\n", u }' \
		>"$dir/$path.curl"
done

# answers: one session goes through the milter.
answers() {
	timeout 5 "$MILTERLOAD" -s "$sock" -n 1 -r 1 2>/dev/null | grep -q ' done=1 '
}
lib_wait_for 10 answers || lib_die "rblmilter does not answer on $sock"
# The hits: milterload -r's IPs, from 198.18.0.1 on.
timeout "$RUN_TIMEOUT" "$MILTERLOAD" -s "$sock" -c "$CONC" -n "$HIT_IPS" \
	-r "$HIT_IPS" >/dev/null 2>&1

# ipfile RUN: N clients, every other one a hit, the others new to run RUN
# (10.RUN.0.0/16 and up).
ipfile() {
	awk -v n="$N" -v run="$1" -v hits="$HIT_IPS" 'BEGIN {
		for (k = 0; k < n; k++)
			if (k % 2 == 0) {
				a = (k / 2) % hits + 1
				printf "198.18.%d.%d\n", int(a / 256), a % 256
			} else {
				a = int(k / 2) + 1
				printf "10.%d.%d.%d\n", run, int(a / 256) % 256, a % 256
			}
	}' >"$dir/run$1.ips"
}

# scraper_start MODE: a scraper in a session of its own (scraper_pid),
# one line per scrape (HTTP status, seconds) in $dir/scrapes, until
# scraper_stop.
scraper_start() {
	local list=$dir/metrics.curl rate=()
	[ "$1" = 404 ] && list=$dir/nothing.curl
	[ "$1" = 1/s ] && rate=(--rate 1/s)
	# shellcheck disable=SC2016 # for the inner shell
	# -w to standard error, which is not buffered: a line per scrape
	# as it ends, none lost when the scraper is killed.
	setsid bash -c 'while :; do curl -s "$@"; done' scraper "${rate[@]}" \
		-w '%{stderr}%{http_code} %{time_total}\n' -K "$list" \
		2>>"$dir/scrapes" &
	scraper_pid=$!
}

# scraper_stop: end the scraper and its curl.
scraper_stop() {
	kill -- "-$scraper_pid"
	wait "$scraper_pid" 2>/dev/null
	scraper_pid=""
}

# median FILE COLUMN [SCALE]: the median of a column of numbers, times
# SCALE; 0 for none.
median() {
	awk -v c="$2" '{ print $c }' "$1" | sort -g | awk -v k="${3:-1}" '
		{ v[NR] = $1 }
		END {
			if (NR == 0) { print 0; exit }
			m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
			printf "%.3f\n", m * k
		}'
}

# kv FILE KEY: the value of KEY in milterload's output.
kv() {
	grep -oE "(^| )$2=[^ ]*" "$1" | head -n 1 | sed 's/.*=//'
}

# measure MODE RUN: one milterload run in MODE; a line of figures in
# $dir/MODE.runs: done seconds rcpt_p50 rcpt_p99 errors cpu_ticks scrapes
# scrape_p50_ms bad_scrapes load (the 1-minute load average at its start).
measure() {
	local mode=$1 run=$2 out=$dir/run$2.out before after load
	ipfile "$run"
	load=$(cut -d' ' -f1 /proc/loadavg)
	: >"$dir/scrapes"
	[ "$mode" = none ] || scraper_start "$mode"
	before=$(lib_cpu_ticks "$milter_pid")
	timeout "$RUN_TIMEOUT" "$MILTERLOAD" -s "$sock" -c "$CONC" -n "$N" \
		-i "$dir/run$run.ips" >"$out" 2>"$out.err"
	after=$(lib_cpu_ticks "$milter_pid")
	[ -z "$scraper_pid" ] || scraper_stop
	[ -s "$out.err" ] && sed "s/^/  $mode run $run: /" "$out.err"
	# Scrapes made during the run, their median time, those not answered.
	scrapes=$(wc -l <"$dir/scrapes")
	scrape_ms=$(median "$dir/scrapes" 2 1000)
	bad=$(awk -v want="$([ "$mode" = 404 ] && echo 404 || echo 200)" \
		'$1 != want' "$dir/scrapes" | wc -l)
	echo "$(kv "$out" "done") $(kv "$out" seconds) $(kv "$out" rcpt_p50_ms)" \
		"$(kv "$out" rcpt_p99_ms) $(kv "$out" errors) $((after - before))" \
		"$scrapes $scrape_ms $bad $load" >>"$dir/${mode//\//_}.runs"
}

# What a scrape costs the daemon alone, without load: CPU per scrape over
# one list of SCRAPES scrapes on one connection.
before=$(lib_cpu_ticks "$milter_pid")
start=$(date +%s%N)
curl -s -K "$dir/metrics.curl"
alone_ms=$((($(date +%s%N) - start) / 1000000))
alone_ticks=$(($(lib_cpu_ticks "$milter_pid") - before))

modes=(none 1/s flood 404)
run=0
for round in $(seq "$ROUNDS"); do
	for k in 0 1 2 3; do
		mode=${modes[$(((k + round - 1) % 4))]}
		run=$((run + 1))
		measure "$mode" "$run"
	done
done

# summary MODE: decisions/s, median RCPT p50 and p99, errors, CPU ms per
# decision, scrapes/s, their median time over the runs that scraped, and
# the scrapes not answered 200.
summary() {
	local f=$dir/${1//\//_}.runs
	awk -v hz="$hz" -v p50="$(median "$f" 3)" -v p99="$(median "$f" 4)" \
		-v sms="$(awk '$7 > 0' "$f" | median /dev/stdin 8)" '
		{
			done += $1; secs += $2; errors += $5; ticks += $6
			scrapes += $7; bad += $9
		}
		END {
			printf "%.1f %.3f %.3f %d %.4f %.1f %.2f %d\n", done / secs,
			    p50, p99, errors, ticks * 1000 / hz / done,
			    scrapes / secs, sms, bad
		}' "$f"
}

# ratios MODE: the medians over the rounds of MODE's decisions/s, RCPT p50
# and RCPT p99 divided by those of the round's run without a scraper
# (paired: the two runs of a round are close in time, so a machine whose
# load comes and goes moves both).
ratios() {
	paste -d ' ' "$dir/none.runs" "$dir/${1//\//_}.runs" |
		awk '{ printf "%.4f %.4f %.4f\n", ($11 / $12) / ($1 / $2),
		    ($3 > 0 ? $13 / $3 : 0), ($4 > 0 ? $14 / $4 : 0) }' \
		>"$dir/ratios"
	echo "$(median "$dir/ratios" 1) $(median "$dir/ratios" 2)" \
		"$(median "$dir/ratios" 3)"
}

echo "metrics-scrape: milterload -c $CONC -n $N per run, $ROUNDS runs per mode, interleaved; $(nproc) CPUs"
echo "  zones on one rbldnsd: $ZONES; half the clients memory-cache hits, half misses"
printf '  %-6s %10s %6s %9s %6s %9s %6s %6s %11s %9s %10s\n' mode \
	decisions/s ratio "rcpt p50" ratio "rcpt p99" ratio errors \
	"CPU ms/dec" scrapes/s "scrape ms"
for mode in "${modes[@]}"; do
	read -r tps p50 p99 errors cpu rate scrape_ms bad < <(summary "$mode")
	read -r tps_ratio p50_ratio p99_ratio < <(ratios "$mode")
	awk -v m="$mode" -v t="$tps" -v a="$p50" -v b="$p99" -v e="$errors" \
		-v c="$cpu" -v r="$rate" -v s="$scrape_ms" -v t1="$tps_ratio" \
		-v a1="$p50_ratio" -v b1="$p99_ratio" 'BEGIN {
		printf "  %-6s %10.1f %6.2f %9.3f %6.2f %9.3f %6.2f %6d %11.4f %9.1f %10.2f\n",
		    m, t, t1, a, a1, b, b1, e, c, r, s }'
	[ "$bad" -gt 0 ] && echo "  $mode: $bad scrapes had another answer than expected"
done
echo "  each run's decisions/s (and the load average at its start), in the order run:"
for mode in "${modes[@]}"; do
	printf '    %-6s%s\n' "$mode" "$(awk '{ printf " %.0f (%s)", $1 / $2, $10 }' \
		"$dir/${mode//\//_}.runs")"
done
echo "  decisions/s over all the mode's runs; rcpt p50/p99: median over its runs of"
echo "  milterload's RCPT step (ms); ratio: the median over the rounds of the mode's"
echo "  run against the same round's run without a scraper; CPU ms/dec: the daemon's"
echo "  CPU per decision, page rendering included"
echo "  page: $(curl -s "$url" | wc -c) bytes, $(curl -s "$url" | grep -vc '^#') samples;" \
	"$SCRAPES scrapes without load: $(awk -v n="$SCRAPES" \
	-v ms="$alone_ms" -v t="$alone_ticks" -v hz="$hz" 'BEGIN {
	printf "%.0f/s, the daemon'"'"'s CPU %.3f ms per scrape", n * 1000 / ms, t * 1000 / hz / n }')"
