# Shell helpers for the tests and benchmarks that run real servers on
# loopback ports: rbldnsd, redis-server, rblmilter, smtp-sink and a
# private Postfix (see ../shared/POSTFIX-TESTING.md for why each setting
# is there).  Sourced, not run.  Everything started is stopped by
# lib_cleanup, which callers install with "trap lib_cleanup EXIT".
#
# The caller sets RBLMILTER (the binary) before calling lib_setup.

# lib_setup NAME BASE: a scratch directory in $dir, the failure count,
# and ports from BASE to BASE+1999 (see lib_port).
lib_setup() {
	dir=$(mktemp -d "/tmp/rbl$1.XXXXXX")
	lib_port_base=$2
	chmod 755 "$dir"
	lib_pids=()
	failed=0
	lib_postfix=""
}

# lib_cleanup: stop what was started; show the logs when a check failed.
lib_cleanup() {
	[ -n "$lib_postfix" ] && postfix -c "$lib_postfix" stop >/dev/null 2>&1
	kill "${lib_pids[@]}" 2>/dev/null
	wait 2>/dev/null
	if [ "$failed" -ne 0 ]; then
		for log in "$dir"/*.log "$dir/maillog"; do
			[ -f "$log" ] && { echo "--- $log"; cat "$log"; }
		done
	fi
	rm -rf "$dir"
}

# lib_need TOOL...: fail (not skip) when a tool is missing.
lib_need() {
	local tool
	for tool; do
		command -v "$tool" >/dev/null ||
			{ echo "$tool not found"; failed=1; exit 1; }
	done
}

# lib_port: a TCP port on 127.0.0.1 that nobody listens on and that no
# earlier call handed out (servers bind theirs only later).  Each test
# has its own range below 32768, so tests running side by side, and the
# kernel's ephemeral ports (32768 and up), never take each other's.
lib_port() {
	local p
	while :; do
		p=$((lib_port_base + RANDOM % 2000))
		grep -qx "$p" "$dir/ports" 2>/dev/null && continue
		(echo >/dev/tcp/127.0.0.1/$p) 2>/dev/null && continue
		echo "$p" >>"$dir/ports"
		echo "$p"
		return
	done
}

# lib_check NAME COMMAND...: run one assertion, print ok:/FAIL:.
lib_check() {
	local name=$1
	shift
	if "$@"; then
		echo "ok: $name"
	else
		echo "FAIL: $name"
		failed=1
	fi
}

# lib_wait_for SECONDS COMMAND...: poll until COMMAND succeeds.
lib_wait_for() {
	local tries=$(($1 * 10))
	shift
	while ! "$@" 2>/dev/null; do
		tries=$((tries - 1))
		[ "$tries" -gt 0 ] || return 1
		sleep 0.1
	done
}

# lib_listening PORT: does something accept connections on it?
lib_listening() {
	(echo >/dev/tcp/127.0.0.1/"$1") 2>/dev/null
}

# lib_die MESSAGE: a setup step failed.
lib_die() {
	echo "$*"
	failed=1
	exit 1
}

# lib_rbldnsd [ADDR PORT ZONE...]: rbldnsd on ADDR/PORT (default
# 127.0.0.1 and a lib_port), each ZONE (default bl.test) listing
# 127.0.0.2; sets dns_port, dns_server (ADDR:PORT) and dns_zones.  Port 53
# on an address of its own is for clients that cannot be told a port
# (glibc's resolv.conf, policyd-weight).
lib_rbldnsd() {
	local addr=127.0.0.1 zone spec=()
	dns_port=""
	if [ "$#" -ge 2 ]; then
		addr=$1 dns_port=$2
		shift 2
	fi
	[ -n "$dns_port" ] || dns_port=$(lib_port)
	dns_server=$addr:$dns_port
	dns_zones=${*:-bl.test}
	printf '$TTL 300\n:127.0.0.2:Listed by the test\n127.0.0.2\n' \
		>"$dir/zone"
	chmod 644 "$dir/zone"
	for zone in $dns_zones; do
		spec+=("$zone:ip4set:zone")
	done
	rbldnsd -n -q -b "$addr/$dns_port" -w "$dir" "${spec[@]}" \
		>"$dir/rbldnsd.log" 2>&1 &
	lib_pids+=($!)
}

# lib_redis [OPTION...]: a redis-server, with more redis-server options
# (later ones win); sets redis_port and redis_pid.
lib_redis() {
	redis_port=$(lib_port)
	redis-server --bind 127.0.0.1 --port "$redis_port" --save '' \
		--appendonly no --dir "$dir" --loglevel warning "$@" >/dev/null &
	redis_pid=$!
	lib_pids+=($!)
	lib_wait_for 5 redis-cli -p "$redis_port" ping >/dev/null ||
		lib_die "redis-server did not start"
}

# lib_rblmilter CONF PORT: start the daemon in the foreground on
# inet:PORT@127.0.0.1 (its log in $dir/rblmilter.log); sets milter_pid.
lib_rblmilter() {
	"$RBLMILTER" -c "$1" -f >>"$dir/rblmilter.log" 2>&1 &
	milter_pid=$!
	lib_pids+=("$milter_pid")
	lib_wait_for 10 lib_listening "$2" || lib_die "rblmilter did not start"
}

# lib_user: the "user" line of a test configuration: as root, the daemon
# runs as nobody, since it refuses root; otherwise none.
lib_user() {
	[ "$(id -u)" -ne 0 ] || echo "user = nobody"
}

# lib_sockdir: a directory for unix milter sockets, $dir/sock, that the
# daemon's user (lib_user) owns: rblmilter makes its socket as that user.
lib_sockdir() {
	mkdir -p "$dir/sock"
	[ "$(id -u)" -ne 0 ] || chown nobody "$dir/sock"
	echo "$dir/sock"
}

# lib_rblmilter_conf FILE [SETTINGS]: the test configuration; DNS from
# lib_rbldnsd, Redis from lib_redis (when started).  As root, the daemon
# runs as nobody unless SETTINGS name a user: it refuses root.
lib_rblmilter_conf() {
	{
		echo "dns_servers = $dns_server"
		echo "dnsbl_sites = ${dns_zones// /, }"
		echo "dnsbl_reply_text = yes"
		[ -n "${redis_port:-}" ] &&
			echo "redis_server = 127.0.0.1:$redis_port"
		grep -q '^user = ' <<<"${2:-}" || lib_user
		printf '%s' "${2:-}"
	} >"$1"
	chmod 644 "$1"
}

# lib_sinks: smtp-sink as next hop (SMTP) and as local delivery (LMTP);
# sets sink_smtp and sink_lmtp.
lib_sinks() {
	sink_smtp=$(lib_port)
	sink_lmtp=$(lib_port)
	smtp-sink -u postfix "127.0.0.1:$sink_smtp" 1000 &
	lib_pids+=($!)
	smtp-sink -L -u postfix "127.0.0.1:$sink_lmtp" 1000 &
	lib_pids+=($!)
}

# lib_postfix_conf: a private Postfix in $dir/postfix that delivers
# local.test over LMTP to smtp-sink and relays the rest to smtp-sink.
# Every loopback client may relay as far as Postfix is concerned:
# rblmilter is the relay gate under test.  Callers append their own
# main.cf lines and master.cf listeners.
lib_postfix_conf() {
	lib_postfix=$dir/postfix
	mkdir -p "$lib_postfix" "$dir/queue" "$dir/data"
	chown postfix:postfix "$dir/data"
	cat >"$lib_postfix/main.cf" <<EOF
compatibility_level = 3.6
queue_directory = $dir/queue
data_directory = $dir/data
maillog_file = $dir/maillog
maillog_file_prefixes = $dir
myhostname = mx.test
mydomain = test
mydestination =
inet_interfaces = loopback-only
inet_protocols = ipv4
smtpd_peername_lookup = no
smtp_dns_support_level = disabled
smtp_host_lookup = native
lmtp_host_lookup = native
relayhost = [127.0.0.1]:$sink_smtp
virtual_mailbox_domains = local.test
virtual_mailbox_maps = static:ok
virtual_transport = lmtp:inet:[127.0.0.1]:$sink_lmtp
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
smtpd_recipient_restrictions = permit
alias_maps =
alias_database =
in_flow_delay = 0
smtputf8_enable = no
biff = no
EOF
	cat >"$lib_postfix/master.cf" <<EOF
pickup    unix  n - n 60   1 pickup
cleanup   unix  n - n -    0 cleanup
qmgr      unix  n - n 300  1 qmgr
rewrite   unix  - - n -    - trivial-rewrite
bounce    unix  - - n -    0 bounce
defer     unix  - - n -    0 bounce
trace     unix  - - n -    0 bounce
verify    unix  - - n -    1 verify
flush     unix  n - n 1000? 0 flush
proxymap  unix  - - n -    - proxymap
smtp      unix  - - n -    - smtp
relay     unix  - - n -    - smtp
lmtp      unix  - - n -    - lmtp
error     unix  - - n -    - error
retry     unix  - - n -    - error
discard   unix  - - n -    - discard
anvil     unix  - - n -    1 anvil
scache    unix  - - n -    1 scache
postlog   unix-dgram n - n - 1 postlogd
EOF
}

# lib_postfix_rblmilter POLICY_PORT: main.cf lines for rblmilter's front
# ends: a Milter that fails closed (tempfail) with generous timeouts, and
# $rbl_policy, a check_policy_service on POLICY_PORT for a listener's
# smtpd_recipient_restrictions.
lib_postfix_rblmilter() {
	cat >>"$lib_postfix/main.cf" <<EOF
milter_default_action = tempfail
milter_connect_timeout = 10s
milter_command_timeout = 10s
rbl_policy = check_policy_service { inet:127.0.0.1:$1, timeout=10s, default_action=DUNNO }
EOF
}

# lib_postfix_start PORT: start the private Postfix; wait for PORT.  A
# main.cf that sets a parameter twice is refused: every Postfix process
# warns of it as it starts, to postlogd's datagram socket, which queues
# 10 (net.unix.max_dgram_qlen); postlogd logs its own start to that
# socket too, and on a busy machine it found the queue full and waited
# on itself for good, and so did every smtpd.  (postconf's "unused
# parameter" warnings are postconf's alone.)
lib_postfix_start() {
	local twice
	twice=$(postconf -c "$lib_postfix" -n 2>&1 >/dev/null |
		grep 'overriding earlier entry')
	[ -z "$twice" ] || lib_die "main.cf sets a parameter twice: $twice"
	postfix -c "$lib_postfix" check &&
		postfix -c "$lib_postfix" start >/dev/null ||
		lib_die "postfix did not start"
	lib_wait_for 10 lib_listening "$1" || lib_die "postfix does not listen"
}

# lib_send PORT SOURCE RCPT: one message with swaks, transcript on stdout.
lib_send() {
	swaks --server "127.0.0.1:$1" --local-interface "$2" \
		--from a@sender.test --to "$3" --helo client.test \
		--timeout 20 2>&1
}

# lib_delivered RCPT PORT: the message to RCPT reached smtp-sink on PORT.
lib_delivered() {
	lib_wait_for 10 grep -q \
		"to=<$1>, relay=127.0.0.1\[127.0.0.1\]:$2.*status=sent" \
		"$dir/maillog"
}

# lib_stopped PID: SIGTERM ends rblmilter cleanly (exit 0, and under the
# sanitizers with no report).
lib_stopped() {
	kill -TERM "$1"
	wait "$1" && ! grep -q Sanitizer "$dir/rblmilter.log"
}

# lib_cpu_ticks PID...: the processes' user + system CPU time so far,
# with that of the children they have waited for, in clock ticks (getconf
# CLK_TCK a second).  A process that is gone counts 0.
lib_cpu_ticks() {
	local pid
	for pid; do
		sed 's/.*) //' "/proc/$pid/stat" 2>/dev/null
	done | awk '{ t += $12 + $13 + $14 + $15 } END { print t + 0 }'
}

# lib_sent: how many deliveries the mail log shows so far.
lib_sent() {
	if [ -f "$dir/maillog" ]; then
		grep -c 'status=sent' "$dir/maillog"
	else
		echo 0
	fi
}

# lib_bench_fail MESSAGE: a benchmark run went wrong; show the end of the
# logs and stop.
lib_bench_fail() {
	echo "$(basename "$0" .sh): $*"
	tail -n 20 "$dir/maillog" "$dir"/*.log 2>/dev/null
	exit 1
}

# lib_source PORT COUNT: one smtp-source run of COUNT messages of 5 kB,
# 20 sessions in parallel, one message each, from 127.0.0.1 to
# u@local.test; sets accept_ms (until smtp-source is done) and
# deliver_ms (until the mail log shows all COUNT delivered), milliseconds
# from its start, and fails unless the queue is empty after.
lib_source() {
	local port=$1 count=$2 before start end tries
	before=$(lib_sent)
	start=$(date +%s%N)
	smtp-source -s 20 -l 5120 -m "$count" -c -f a@sender.test \
		-t u@local.test "127.0.0.1:$port" >"$dir/source.out" 2>&1 ||
		lib_bench_fail "smtp-source failed on port $port: $(tail -n 3 "$dir/source.out")"
	end=$(date +%s%N)
	accept_ms=$(((end - start) / 1000000))
	# Delivery: 5 minutes at most, whatever the count.
	tries=3000
	while [ "$(($(lib_sent) - before))" -lt "$count" ]; do
		tries=$((tries - 1))
		[ "$tries" -gt 0 ] ||
			lib_bench_fail "only $(($(lib_sent) - before)) of $count messages delivered from port $port"
		sleep 0.05
	done
	end=$(date +%s%N)
	deliver_ms=$(((end - start) / 1000000))
	postqueue -c "$lib_postfix" -p 2>/dev/null | grep -q 'Mail queue is empty' ||
		lib_bench_fail "messages left in the queue after the run on port $port"
}

# lib_session_ms PORT [N]: the median milliseconds of N (default 20) SMTP
# sessions of one message each, one after another (no queueing).
lib_session_ms() {
	local i start end
	for i in $(seq "${2:-20}"); do
		start=$(date +%s%N)
		smtp-source -c -m 1 -s 1 -f a@sender.test -t u@local.test \
			"127.0.0.1:$1" >/dev/null 2>&1
		end=$(date +%s%N)
		echo $(((end - start) / 1000))
	done | sort -n |
		awk '{ v[NR] = $1 } END { printf "%.1f", v[int((NR + 1) / 2)] / 1000 }'
}

# lib_postfix_pids: the private Postfix's master and its children, all
# of its daemons (the master waits for those that exit).
lib_postfix_pids() {
	local master
	master=$(tr -d ' ' <"$dir/queue/pid/master.pid" 2>/dev/null) || return 0
	echo "$master"
	pgrep -P "$master"
}

# lib_postscreen_pids: the private Postfix's postscreen and dnsblog
# processes, those of a postscreen listener's DNSBL checks.
lib_postscreen_pids() {
	local pid
	lib_postfix_pids | while read -r pid; do
		grep -qxE 'postscreen|dnsblog' "/proc/$pid/comm" 2>/dev/null &&
			echo "$pid"
	done
}

# lib_measure ROUNDS COUNT NAME...: ROUNDS rounds of one lib_source run
# of COUNT messages through each listener NAME (its port in the caller's
# associative array port), the order reversed every other round so that
# no listener is always measured first or last.  Sums, per NAME, in the
# associative arrays accept_total and deliver_total (ms), cpu_total
# (clock ticks of the processes that "lib_measure_pids NAME", defined by
# the caller, prints) and postfix_total (clock ticks of the private
# Postfix: CPU time, unlike wall time, is not stretched much by other
# work on the machine).
lib_measure() {
	local rounds=$1 count=$2 round name before postfix_before i
	local -a order
	shift 2
	declare -gA accept_total deliver_total cpu_total postfix_total
	for name; do
		accept_total[$name]=0 deliver_total[$name]=0 cpu_total[$name]=0
		postfix_total[$name]=0
	done
	for round in $(seq "$rounds"); do
		order=("$@")
		if [ $((round % 2)) -eq 0 ]; then
			order=()
			for ((i = $#; i >= 1; i--)); do
				order+=("${!i}")
			done
		fi
		for name in "${order[@]}"; do
			# shellcheck disable=SC2046
			before=$(lib_cpu_ticks $(lib_measure_pids "$name"))
			# shellcheck disable=SC2046
			postfix_before=$(lib_cpu_ticks $(lib_postfix_pids))
			lib_source "${port[$name]}" "$count"
			accept_total[$name]=$((accept_total[$name] + accept_ms))
			deliver_total[$name]=$((deliver_total[$name] + deliver_ms))
			# shellcheck disable=SC2046
			cpu_total[$name]=$((cpu_total[$name] + $(lib_cpu_ticks $(lib_measure_pids "$name")) - before))
			# shellcheck disable=SC2046
			postfix_total[$name]=$((postfix_total[$name] + $(lib_cpu_ticks $(lib_postfix_pids)) - postfix_before))
		done
	done
}
