#!/bin/bash
# Benchmark: throughput and latency as the operator measures them, through
# a real Postfix.
#
# A private Postfix on loopback ports (t/lib.sh) delivers to smtp-sink
# (LMTP) and has smtpd listeners that differ only in their milter:
#   none       no milter
#   null       t/nullmilter over TCP (accepts everything, answers DATA)
#   rblmilter  rblmilter over TCP, rbldnsd serving bl.test behind it
# Throughput: ROUNDS rounds (default 2) of one smtp-source run per
# listener, MESSAGES messages each (default 2000) of 5 kB, 20 sessions in
# parallel, one message per session, from 127.0.0.1, which no zone lists,
# so every message is accepted; the order of the listeners is reversed
# every other round, since the one measured first tends to do better.
# Each run is timed until smtp-source has handed over the last message
# (accepted) and until the mail log shows the last one delivered.  A
# warm-up of WARMUP messages (default 100) through each listener first
# starts Postfix's processes and fills rblmilter's cache, as on a server
# that has been running.  Prints messages/s, the ratios rblmilter / no
# milter and rblmilter / null milter (the same kind of socket), and each
# milter's CPU time per message, and that of all of Postfix's processes.
#
# Latency: the median of LATENCY_N (default 30) sessions of one message,
# one after another, through each of those listeners and three more: the
# null milter with -D (it skips DATA: the ~40 ms TCP stall that
# ../shared/POSTFIX-TESTING.md describes), rblmilter over a unix socket
# (a second daemon, as user postfix) and the null milter over a unix
# socket.  rblmilter answers DATA, so over TCP it should stay within a
# millisecond of its unix socket.
#
# Numbers, not assertions; exit status 1 only when something could not be
# set up or the messages were not all delivered.  Needs root (Postfix).
# About a minute and a half with the defaults.  From a build tree (or set
# RBLMILTER and NULLMILTER):
#     RBLMILTER=$PWD/rblmilter bash ../../t/bench/smtp-throughput.sh
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
RBLMILTER=${RBLMILTER:-$PWD/rblmilter}
NULLMILTER=${NULLMILTER:-$PWD/t/nullmilter}
MESSAGES=${MESSAGES:-2000}
WARMUP=${WARMUP:-100}
ROUNDS=${ROUNDS:-2}
LATENCY_N=${LATENCY_N:-30}
. "$here/lib.sh"

if [ "$(id -u)" -ne 0 ]; then
	echo "smtp-throughput: needs root to run a private Postfix"
	exit 77
fi
lib_setup bench 24000
trap lib_cleanup EXIT
lib_need postfix postqueue smtp-sink smtp-source rbldnsd "$RBLMILTER" \
	"$NULLMILTER"

lib_rbldnsd
milter_port=$(lib_port)
lib_rblmilter_conf "$dir/rblmilter.conf" \
	"milter_socket = inet:$milter_port@127.0.0.1
"
lib_rblmilter "$dir/rblmilter.conf" "$milter_port"
rbl_tcp=$milter_pid
# The same on a unix socket that smtpd (user postfix) may use, in a
# directory of the daemon's user (rblmilter makes its socket as user).
install -d -o postfix -g postfix -m 0750 "$dir/psock"
lib_rblmilter_conf "$dir/unix.conf" \
	"milter_socket = unix:$dir/psock/rblmilter.sock
socket_group = postfix
socket_mode = 0660
user = postfix
"
"$RBLMILTER" -c "$dir/unix.conf" -f >>"$dir/rblmilter-unix.log" 2>&1 &
lib_pids+=($!)
# The null milters: over TCP, the same skipping DATA, on a unix socket.
null_port=$(lib_port)
nodata_port=$(lib_port)
"$NULLMILTER" -p "inet:$null_port@127.0.0.1" >>"$dir/nullmilter.log" 2>&1 &
null_tcp=$!
lib_pids+=($!)
"$NULLMILTER" -D -p "inet:$nodata_port@127.0.0.1" >>"$dir/nullmilter.log" 2>&1 &
lib_pids+=($!)
"$NULLMILTER" -p "unix:$dir/null.sock" >>"$dir/nullmilter.log" 2>&1 &
lib_pids+=($!)
lib_wait_for 10 test -S "$dir/psock/rblmilter.sock" ||
	lib_die "rblmilter (unix) did not start"
lib_wait_for 10 test -S "$dir/null.sock" || lib_die "nullmilter (unix) did not start"
chown postfix "$dir/null.sock"
lib_wait_for 10 lib_listening "$null_port" || lib_die "nullmilter did not start"
lib_wait_for 10 lib_listening "$nodata_port" || lib_die "nullmilter -D did not start"

lib_sinks
lib_postfix_conf
cat >>"$lib_postfix/main.cf" <<EOF
milter_default_action = tempfail
milter_connect_timeout = 10s
milter_command_timeout = 10s
EOF
names=(none null rblmilter null-nodata rbl-unix null-unix)
declare -A port milter=(
	[none]=""
	[null]="inet:127.0.0.1:$null_port"
	[rblmilter]="inet:127.0.0.1:$milter_port"
	[null-nodata]="inet:127.0.0.1:$nodata_port"
	[rbl-unix]="unix:$dir/psock/rblmilter.sock"
	[null-unix]="unix:$dir/null.sock"
)
for name in "${names[@]}"; do
	port[$name]=$(lib_port)
	echo "127.0.0.1:${port[$name]} inet n - n - - smtpd -o smtpd_milters=${milter[$name]}" \
		>>"$lib_postfix/master.cf"
done
lib_postfix_start "${port[none]}"
for name in "${names[@]}"; do
	lib_wait_for 10 lib_listening "${port[$name]}" ||
		lib_die "postfix does not listen for $name"
done

# lib_measure_pids NAME: the milter process of a measured listener.
lib_measure_pids() {
	case $1 in
	null) echo "$null_tcp" ;;
	rblmilter) echo "$rbl_tcp" ;;
	esac
}

measured=(none null rblmilter)
for name in "${measured[@]}"; do
	lib_source "${port[$name]}" "$WARMUP"
done
lib_measure "$ROUNDS" "$MESSAGES" "${measured[@]}"
decisions=$(grep -c 'action=pass' "$dir/rblmilter.log")
declare -A session
for name in "${names[@]}"; do
	session[$name]=$(lib_session_ms "${port[$name]}" "$LATENCY_N")
done

n=$((ROUNDS * MESSAGES))
echo "smtp-throughput: $ROUNDS x $MESSAGES messages of 5 kB per listener, 20 sessions in parallel, one message each, $(nproc) CPUs"
printf '%-10s %8s %9s %10s %9s %11s %10s %11s\n' milter messages "accept s" \
	"accepted/s" "deliver s" "delivered/s" "milter CPU" "Postfix CPU"
for name in "${measured[@]}"; do
	awk -v name="$name" -v n="$n" -v a="${accept_total[$name]}" \
		-v d="${deliver_total[$name]}" -v cpu="${cpu_total[$name]}" \
		-v pf="${postfix_total[$name]}" -v hz="$(getconf CLK_TCK)" 'BEGIN {
		printf "%-10s %8d %9.2f %10.1f %9.2f %11.1f %7.2f ms %8.2f ms\n", name, n,
		    a / 1000, n * 1000 / a, d / 1000, n * 1000 / d, cpu * 1000 / hz / n,
		    pf * 1000 / hz / n }'
done
echo "CPU per message: the milter's, and all of Postfix's processes' (smtpd and cleanup speak the milter protocol)"
awk -v pa="${accept_total[none]}" -v pd="${deliver_total[none]}" \
	-v na="${accept_total[null]}" -v nd="${deliver_total[null]}" \
	-v ma="${accept_total[rblmilter]}" -v md="${deliver_total[rblmilter]}" 'BEGIN {
	printf "ratio rblmilter / no milter (messages/s): accepted %.2f, delivered %.2f\n", pa / ma, pd / md
	printf "ratio rblmilter / null milter, both over TCP (messages/s): accepted %.2f, delivered %.2f\n", na / ma, nd / md
}'
echo "rblmilter (TCP): $decisions decisions logged (action=pass) for $((WARMUP + n)) sessions before the latency runs"
printf 'median of %d single-message sessions one at a time (ms):' "$LATENCY_N"
for name in "${names[@]}"; do
	printf ' %s %s' "$name" "${session[$name]}"
done
echo
awk -v t="${session[rblmilter]}" -v u="${session[rbl-unix]}" 'BEGIN {
	printf "rblmilter over TCP - over a unix socket: %+.1f ms\n", t - u }'
