#!/bin/bash
# Benchmark: rblmilter next to what operators run instead, on one machine,
# with the same zones, through the same Postfix, driven by smtp-source.
#
# One private Postfix on loopback ports (t/lib.sh) delivers to smtp-sink
# and has one smtpd listener per contender:
#   none           no DNSBL check (the baseline)
#   postscreen     postscreen in front of smtpd, postscreen_dnsbl_sites
#   policyd-weight check_policy_service -> policyd-weight (Debian package)
#   postfwd        check_policy_service -> postfwd2 (Debian package)
#   rbl-milter     smtpd_milters -> rblmilter over TCP
#   rbl-policy     check_policy_service -> rblmilter's policy socket
# One rbldnsd serves the same zones (ZONES, default bl.test bl2.test
# bl3.test, each listing 127.0.0.2) to every contender, and each one
# rejects a client listed in any one of them (threshold 1, weight 1 each).
#
# First, not timed, the verdicts: through every listener but the baseline
# a client from 127.0.0.2 (swaks --local-interface) must get a 5xx reply
# and one from 127.0.0.1 must be queued; a contender that fails this is
# reported and the script exits 1, since figures at unequal verdicts mean
# nothing.  Then a warm-up of WARMUP messages (default 100) per listener,
# then ROUNDS rounds (default 2) of one smtp-source run per listener,
# MESSAGES messages each (default 2000; 5 kB, 20 sessions in parallel, one
# message per session, from 127.0.0.1, which no zone lists), the order of
# the listeners reversed every other round so that none is always measured
# first; the queue is drained after each run.  Last, LATENCY_N sessions
# (default 30) of one message each, one after another, per listener.
# Prints, per contender: messages/s accepted (all rounds), the ratio to the
# baseline, the time each message adds at that rate (1000/rate - 1000/
# baseline rate, ms), the median added latency of a single session, and
# the CPU time per message of the checker's processes, of Postfix's and
# of both.  On a machine shared with other work the CPU columns are the
# steadier ones: other processes stretch wall time, not CPU time.
#
# Every message comes from 127.0.0.1, so after the warm-up every
# contender answers from its own cache: postscreen's cache of passed
# clients (no DNS; the connection is handed to smtpd), policyd-weight's
# and postfwd's caches, rblmilter's memory cache.  That is the steady state of
# a server's repeat clients; it does not measure cache misses (see
# t/bench/milter-scenarios.sh for those).  policyd-weight with
# $dnsbl_checks_only = 1 keeps no positive cache, so it sends its queries
# every time: that is how it works in that mode.
#
# How each one is pointed at the loopback rbldnsd without touching the
# host's /etc/resolv.conf: rbldnsd listens on port 53 of an address of its
# own (127.53.N.1), since neither glibc's resolv.conf nor policyd-weight's
# RBL socket can be given a port.  rblmilter: dns_servers.  postscreen:
# its DNS lookups are made by dnsblog, which runs chrooted in the queue
# directory (as Debian runs it), where etc/resolv.conf names that address.
# policyd-weight: its own $NS setting.  postfwd: it runs Perl in taint
# mode, where Net::DNS ignores RES_NAMESERVERS, so it runs in a mount
# namespace of its own (unshare -m) with a private file bind-mounted on
# /etc/resolv.conf.
#
# Choices made for a fair comparison, each one also how an operator would
# set it up for DNSBL checks alone:
#  - postscreen: postscreen_greet_banner empty, which turns the pregreet
#    test off.  With it on, postscreen holds every new client for the
#    whole postscreen_greet_wait (6 s) whatever DNS does; with it off the
#    DNSBL answer ends the wait.  postscreen_access_list empty (the
#    default permit_mynetworks would wave 127.0.0.0/8 through unchecked);
#    postscreen_dnsbl_action = enforce: 550 at RCPT, as the others.
#  - policyd-weight: $dnsbl_checks_only = 1 (no HELO, MX and RHSBL
#    lookups, which the others do not do), $MAXDNSBLHITS = 0 (reject at
#    the first listing, threshold 1), $ADD_X_HEADER = 0 (DUNNO, no header,
#    as the others); its defaults otherwise (3 to 50 processes, cache).
#  - postfwd: Debian's /etc/default/postfwd arguments (--cache=600
#    --cache-rdomain-only --cache-no-size), one rule rbl=ZONES.
#  - The Perl daemons log with Sys::Syslog's "native" socket type, which
#    drops the lines (no syslog daemon here) instead of retrying for a
#    second per line; rblmilter writes its line per decision to a file.
#
# Numbers, not assertions (beyond the verdicts).  Needs root (Postfix,
# unshare, the daemons' users) and the Debian packages policyd-weight and
# postfwd (t/bench/run-all installs them); exit 77 when not root.  It
# runs in about two minutes with the defaults on 2 idle cores (six on a
# busy machine).  From a build tree:
#     RBLMILTER=$PWD/rblmilter bash ../../t/bench/operators.sh
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
RBLMILTER=${RBLMILTER:-$PWD/rblmilter}
MESSAGES=${MESSAGES:-2000}
WARMUP=${WARMUP:-100}
ROUNDS=${ROUNDS:-2}
LATENCY_N=${LATENCY_N:-30}
ZONES=${ZONES:-bl.test bl2.test bl3.test}
. "$here/lib.sh"

if [ "$(id -u)" -ne 0 ]; then
	echo "operators: needs root to run a private Postfix and the policy daemons"
	exit 77
fi
lib_setup operators 30000
trap 'operators_stop; lib_cleanup' EXIT
lib_need postfix postqueue smtp-sink smtp-source swaks rbldnsd unshare \
	policyd-weight postfwd2 "$RBLMILTER"

# operators_stop: the Perl daemons detach, so lib_cleanup's list of PIDs
# does not hold them.  postfwd leads a process group of its own;
# policyd-weight's cache process has its own session, which its "-k stop"
# ends too.
operators_stop() {
	[ -f "$dir/policyd-weight.conf" ] &&
		policyd-weight -f "$dir/policyd-weight.conf" -k stop >/dev/null 2>&1
	[ -s "$dir/postfwd/postfwd.pid" ] &&
		kill -- "-$(cat "$dir/postfwd/postfwd.pid")" 2>/dev/null
	return 0
}

# The zones, on port 53 of an address that no other test uses.
dns_addr=127.53.$((RANDOM % 254 + 1)).1
# shellcheck disable=SC2086
lib_rbldnsd "$dns_addr" 53 $ZONES
printf 'nameserver %s\n' "$dns_addr" >"$dir/resolv.conf"
chmod 644 "$dir/resolv.conf"

# rblmilter, both front ends in one daemon (one cache).
milter_port=$(lib_port)
policy_port=$(lib_port)
lib_rblmilter_conf "$dir/rblmilter.conf" \
	"milter_socket = inet:$milter_port@127.0.0.1
policy_socket = inet:127.0.0.1:$policy_port
"
# listed_by_rblmilter: rbldnsd answers (rblmilter --check exits 1 for a
# client it would reject).
listed_by_rblmilter() {
	"$RBLMILTER" -c "$dir/rblmilter.conf" --check 127.0.0.2 >/dev/null 2>&1
	[ "$?" -eq 1 ]
}
lib_wait_for 10 listed_by_rblmilter ||
	lib_die "rbldnsd on $dns_addr:53 does not answer: $(cat "$dir/rbldnsd.log")"
lib_rblmilter "$dir/rblmilter.conf" "$milter_port"

# policyd-weight: its configuration file is Perl, read over its defaults.
weight_port=$(lib_port)
mkdir -p "$dir/polw"
chown polw:polw "$dir/polw"
# shellcheck disable=SC2016
{
	echo '$dnsbl_checks_only = 1;'
	printf '@dnsbl_score = ('
	for zone in $ZONES; do
		printf "'%s', 1, 0, '%s', " "$zone" "$(echo "$zone" | tr a-z. A-Z_)"
	done
	echo ');'
	cat <<EOF
@rhsbl_score = ();
\$MAXDNSBLHITS = 0;
\$MAXDNSBLMSG = '550 5.7.1 Your MTA is listed in too many DNSBLs';
\$ADD_X_HEADER = 0;
\$NS = '$dns_addr';
\$LOCKPATH = '$dir/polw/';
\$SPATH = '$dir/polw/polw.sock';
\$PIDFILE = '$dir/polw/policyd-weight.pid';
\$TCP_PORT = $weight_port;
\$BIND_ADDRESS = '127.0.0.1';
\$syslog_socktype = 'native';
EOF
} >"$dir/policyd-weight.conf"
policyd-weight -f "$dir/policyd-weight.conf" start >"$dir/policyd-weight.log" 2>&1 ||
	lib_die "policyd-weight did not start: $(cat "$dir/policyd-weight.log")"
lib_wait_for 10 lib_listening "$weight_port" || lib_die "policyd-weight does not listen"

# postfwd: one rule; ';' separates items, so none in the reply text.
fwd_port=$(lib_port)
fwd_cache=$(lib_port)
mkdir -p "$dir/postfwd"
chown postfw:postfw "$dir/postfwd"
echo "id=DNSBL; rbl=${ZONES// /,}; action=550 5.7.1 Service unavailable, client [\$\$client_address] blocked using a DNSBL" \
	>"$dir/postfwd.cf"
# shellcheck disable=SC2016
unshare -m --propagation private sh -c \
	'mount --bind "$1/resolv.conf" /etc/resolv.conf && shift && exec "$@"' \
	sh "$dir" postfwd2 --file="$dir/postfwd.cf" --interface=127.0.0.1 \
	--port="$fwd_port" --cache_socket="tcp:127.0.0.1:$fwd_cache" \
	--user=postfw --group=postfw --pidfile="$dir/postfwd/postfwd.pid" \
	--cache=600 --cache-rdomain-only --cache-no-size --socktype=native \
	--daemon >"$dir/postfwd.log" 2>&1 ||
	lib_die "postfwd did not start: $(cat "$dir/postfwd.log")"
lib_wait_for 10 lib_listening "$fwd_port" || lib_die "postfwd does not listen"

# Postfix: one listener per contender.
lib_sinks
lib_postfix_conf
names=(none postscreen policyd-weight postfwd rbl-milter rbl-policy)
declare -A port
for name in "${names[@]}"; do
	port[$name]=$(lib_port)
done
# policy PORT: the restriction that asks the policy server on PORT, with
# milter_command_timeout's 10 s and no verdict when it does not answer.
policy() {
	echo "check_policy_service { inet:127.0.0.1:$1, timeout=10s, default_action=DUNNO }"
}
cat >>"$lib_postfix/main.cf" <<EOF
milter_default_action = tempfail
milter_connect_timeout = 10s
milter_command_timeout = 10s
weight_policy = $(policy "$weight_port")
fwd_policy = $(policy "$fwd_port")
rbl_policy = $(policy "$policy_port")
postscreen_dnsbl_sites = $(for zone in $ZONES; do printf '%s*1 ' "$zone"; done)
postscreen_dnsbl_threshold = 1
postscreen_dnsbl_action = enforce
postscreen_greet_banner =
postscreen_access_list =
EOF
no_milter="-o smtpd_milters="
cat >>"$lib_postfix/master.cf" <<EOF
127.0.0.1:${port[none]} inet n - n - - smtpd $no_milter
127.0.0.1:${port[postscreen]} inet n - n - 1 postscreen
smtpd     pass  - - n -    - smtpd $no_milter
dnsblog   unix  - - y -    0 dnsblog
tlsproxy  unix  - - n -    0 tlsproxy
127.0.0.1:${port[policyd-weight]} inet n - n - - smtpd $no_milter -o smtpd_recipient_restrictions=\$weight_policy,permit
127.0.0.1:${port[postfwd]} inet n - n - - smtpd $no_milter -o smtpd_recipient_restrictions=\$fwd_policy,permit
127.0.0.1:${port[rbl-milter]} inet n - n - - smtpd -o smtpd_milters=inet:127.0.0.1:$milter_port
127.0.0.1:${port[rbl-policy]} inet n - n - - smtpd $no_milter -o smtpd_recipient_restrictions=\$rbl_policy,permit
EOF
# dnsblog's resolver reads etc/resolv.conf under its chroot, the queue
# directory.
mkdir -p "$dir/queue/etc"
cp "$dir/resolv.conf" "$dir/queue/etc/resolv.conf"
lib_postfix_start "${port[none]}"
for name in "${names[@]}"; do
	lib_wait_for 10 lib_listening "${port[$name]}" ||
		lib_die "postfix does not listen for $name"
done

# verdict NAME IP PATTERN WHAT: a message from IP through NAME's listener
# gets the reply PATTERN (swaks' transcript); show the transcript if not.
verdict() {
	local out
	out=$(lib_send "${port[$1]}" "$2" u@local.test)
	if grep -qE "$3" <<<"$out"; then
		echo "ok: $1 $4: $(grep -m 1 -E "$3" <<<"$out" | sed 's/^<[-*]* *//')"
		return
	fi
	echo "FAIL: $1 $4"
	grep -E '^ *(<|<\*\*) ' <<<"$out" | sed 's/^/    /'
	failed=1
}

# Equal verdicts, not timed.
for name in "${names[@]}"; do
	[ "$name" = none ] && continue
	verdict "$name" 127.0.0.2 '^<\*\* +5[0-9][0-9] ' "rejects a listed client (127.0.0.2)"
	verdict "$name" 127.0.0.1 '^<- +250 2.0.0 Ok: queued' "accepts a clean client (127.0.0.1)"
done
[ "$failed" -eq 0 ] || lib_bench_fail "the contenders' verdicts differ"

for name in "${names[@]}"; do
	lib_source "${port[$name]}" "$WARMUP"
done

# lib_measure_pids NAME: the processes that do NAME's check: postscreen
# and dnsblog under this Postfix's master, the daemons' users' processes,
# rblmilter; none for the baseline.
lib_measure_pids() {
	case $1 in
	none) ;;
	postscreen) lib_postscreen_pids ;;
	policyd-weight) pgrep -u polw ;;
	postfwd) pgrep -u postfw ;;
	*) echo "$milter_pid" ;;
	esac
}

lib_measure "$ROUNDS" "$MESSAGES" "${names[@]}"

declare -A session
for name in "${names[@]}"; do
	session[$name]=$(lib_session_ms "${port[$name]}" "$LATENCY_N")
done

echo "operators: $ROUNDS x $MESSAGES messages of 5 kB per contender, 20 sessions in parallel, one message each, from 127.0.0.1 (not listed); $(nproc) CPUs"
echo "  zones on one rbldnsd: $ZONES (threshold 1); verdicts checked: 127.0.0.2 rejected, 127.0.0.1 accepted by each"
printf '  %-15s %10s %7s %12s %10s %13s %9s %11s %10s\n' contender \
	"accepted/s" "vs none" "added ms/msg" "session ms" "added session" \
	"check CPU" "Postfix CPU" "server CPU"
for name in "${names[@]}"; do
	# postscreen's processes are Postfix's own: counted once.
	own=0
	[ "$name" = postscreen ] && own=1
	awk -v name="$name" -v n="$((ROUNDS * MESSAGES))" -v ms="${accept_total[$name]}" \
		-v base="${accept_total[none]}" -v s="${session[$name]}" \
		-v s0="${session[none]}" -v cpu="${cpu_total[$name]}" \
		-v pf="${postfix_total[$name]}" -v own="$own" \
		-v hz="$(getconf CLK_TCK)" 'BEGIN {
		k = 1000 / hz / n
		printf "  %-15s %10.1f %7.2f %12.2f %10.1f %13.1f %9.2f %11.2f %10.2f\n",
		    name, n * 1000 / ms, base / ms, (ms - base) / n, s, s - s0,
		    cpu * k, pf * k, (own ? pf : pf + cpu) * k }'
done
echo "  added ms/msg: wall time each message adds at 20 in parallel, from the rates;"
echo "  session ms: median of $LATENCY_N single-message sessions one at a time;"
echo "  CPU ms per message: check (postscreen+dnsblog, or the daemon), Postfix (all"
echo "  of its processes, postscreen's included), server (both: what the check costs"
echo "  the machine, which other work running at the same time hardly changes)"
