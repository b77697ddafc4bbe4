#!/bin/bash
# Benchmark: throughput as the operator measures it, through a real Postfix.
#
# A private Postfix on loopback ports has two smtpd listeners, one asking
# rblmilter (over TCP) about every session and one with no milter, and
# delivers to smtp-sink (LMTP).  rbldnsd serves bl.test to rblmilter.  For
# each listener, one smtp-source run sends MESSAGES messages (default 2000)
# of 5 kB, 20 sessions in parallel, one message per session, from
# 127.0.0.1, which no zone lists, so every message is accepted.  Each run
# is timed twice: until smtp-source has handed over the last message
# (accepted), and until the last one has been delivered (status=sent in
# the mail log).  Prints messages/s for both listeners and the ratio
# milter / without.  A warm-up of WARMUP messages (default 100) through
# each listener first starts Postfix's processes and fills rblmilter's
# cache, as on a server that has been running.  Also prints the CPU time
# rblmilter used per session of its run.
#
# Numbers, not assertions; exit status 1 only when something could not be
# set up or the messages were not all delivered.  Needs root (Postfix).
# From a build tree:
#     RBLMILTER=$PWD/rblmilter bash ../../t/bench/smtp-throughput.sh
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
RBLMILTER=${RBLMILTER:-$PWD/rblmilter}
MESSAGES=${MESSAGES:-2000}
WARMUP=${WARMUP:-100}
. "$here/lib.sh"

if [ "$(id -u)" -ne 0 ]; then
	echo "smtp-throughput: needs root to run a private Postfix"
	exit 77
fi
lib_setup bench 24000
trap lib_cleanup EXIT
lib_need postfix postqueue smtp-sink smtp-source rbldnsd "$RBLMILTER"

lib_rbldnsd
milter_port=$(lib_port)
lib_rblmilter_conf "$dir/rblmilter.conf" \
	"milter_socket = inet:$milter_port@127.0.0.1
"
lib_rblmilter "$dir/rblmilter.conf" "$milter_port"
lib_sinks
lib_postfix_conf
smtp_milter=$(lib_port)
smtp_plain=$(lib_port)
cat >>"$lib_postfix/main.cf" <<EOF
milter_default_action = tempfail
milter_connect_timeout = 10s
milter_command_timeout = 10s
EOF
cat >>"$lib_postfix/master.cf" <<EOF
127.0.0.1:$smtp_milter inet n - n - - smtpd -o smtpd_milters=inet:127.0.0.1:$milter_port
127.0.0.1:$smtp_plain inet n - n - - smtpd -o smtpd_milters=
EOF
lib_postfix_start "$smtp_milter"
lib_wait_for 10 lib_listening "$smtp_plain" || lib_die "postfix does not listen"

# bench_fail MESSAGE: a run went wrong; show the end of the logs.
bench_fail() {
	echo "smtp-throughput: $*"
	tail -n 20 "$dir/maillog" "$dir/rblmilter.log" 2>/dev/null
	exit 1
}

# sent: how many deliveries the mail log shows so far.
sent() {
	if [ -f "$dir/maillog" ]; then
		grep -c 'status=sent' "$dir/maillog"
	else
		echo 0
	fi
}

# send PORT COUNT: one smtp-source run of COUNT messages; sets accept_ms
# and deliver_ms, milliseconds from its start.
send() {
	local port=$1 count=$2 before start end tries
	before=$(sent)
	start=$(date +%s%N)
	smtp-source -s 20 -l 5120 -m "$count" -c -f a@sender.test \
		-t u@local.test "127.0.0.1:$port" >"$dir/source.out" 2>&1 ||
		bench_fail "smtp-source failed on port $port: $(tail -n 3 "$dir/source.out")"
	end=$(date +%s%N)
	accept_ms=$(((end - start) / 1000000))
	# Delivery: 5 minutes at most, whatever the count.
	tries=3000
	while [ "$(($(sent) - before))" -lt "$count" ]; do
		tries=$((tries - 1))
		[ "$tries" -gt 0 ] ||
			bench_fail "only $(($(sent) - before)) of $count messages delivered from port $port"
		sleep 0.05
	done
	end=$(date +%s%N)
	deliver_ms=$(((end - start) / 1000000))
	postqueue -c "$lib_postfix" -p 2>/dev/null | grep -q 'Mail queue is empty' ||
		bench_fail "messages left in the queue after the run on port $port"
}

# cpu_ticks: rblmilter's user + system CPU time so far, in clock ticks.
cpu_ticks() {
	sed 's/.*) //' "/proc/$milter_pid/stat" | awk '{ print $12 + $13 }'
}

send "$smtp_plain" "$WARMUP"
send "$smtp_milter" "$WARMUP"
send "$smtp_plain" "$MESSAGES"
plain_accept=$accept_ms plain_deliver=$deliver_ms
cpu_before=$(cpu_ticks)
send "$smtp_milter" "$MESSAGES"
milter_accept=$accept_ms milter_deliver=$deliver_ms
cpu_ms=$((($(cpu_ticks) - cpu_before) * 1000 / $(getconf CLK_TCK)))
decisions=$(grep -c 'action=pass' "$dir/rblmilter.log")

awk -v n="$MESSAGES" -v pa="$plain_accept" -v pd="$plain_deliver" \
	-v ma="$milter_accept" -v md="$milter_deliver" -v d="$decisions" \
	-v w="$WARMUP" -v cpus="$(nproc)" -v cpu="$cpu_ms" 'BEGIN {
	printf "smtp-throughput: %d messages of 5 kB, 20 sessions in parallel, one message each, %d CPUs\n", n, cpus
	printf "%-10s %8s %10s %10s %10s %12s\n", "milter", "messages", "accept s", "accepted/s", "deliver s", "delivered/s"
	printf "%-10s %8d %10.2f %10.1f %10.2f %12.1f\n", "none", n, pa / 1000, n * 1000 / pa, pd / 1000, n * 1000 / pd
	printf "%-10s %8d %10.2f %10.1f %10.2f %12.1f\n", "rblmilter", n, ma / 1000, n * 1000 / ma, md / 1000, n * 1000 / md
	printf "ratio milter / without (messages/s): accepted %.2f, delivered %.2f\n", pa / ma, pd / md
	printf "rblmilter: %d decisions logged (action=pass) for %d sessions; CPU %.2f ms per session\n", d, n + w, cpu / n
}'
