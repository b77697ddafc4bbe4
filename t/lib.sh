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

# lib_rbldnsd: bl.test lists 127.0.0.2; sets dns_port.
lib_rbldnsd() {
	dns_port=$(lib_port)
	printf '$TTL 300\n:127.0.0.2:Listed by the test\n127.0.0.2\n' \
		>"$dir/zone"
	chmod 644 "$dir/zone"
	rbldnsd -n -q -b "127.0.0.1/$dns_port" -w "$dir" bl.test:ip4set:zone \
		>/dev/null 2>&1 &
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

# lib_rblmilter_conf FILE [SETTINGS]: the test configuration; DNS from
# lib_rbldnsd, Redis from lib_redis (when started).  As root, the daemon
# runs as nobody unless SETTINGS name a user: it refuses root.
lib_rblmilter_conf() {
	{
		echo "dns_servers = 127.0.0.1:$dns_port"
		echo "dnsbl_sites = bl.test"
		echo "dnsbl_reply_text = yes"
		[ -n "${redis_port:-}" ] &&
			echo "redis_server = 127.0.0.1:$redis_port"
		[ "$(id -u)" -eq 0 ] && ! grep -q '^user = ' <<<"${2:-}" &&
			echo "user = nobody"
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

# lib_postfix_start PORT: start the private Postfix; wait for PORT.
lib_postfix_start() {
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
