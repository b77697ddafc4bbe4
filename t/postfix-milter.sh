#!/bin/bash
# Integration test: a private Postfix on loopback ports asks rblmilter about
# every SMTP session, over TCP and over a unix socket, with a real rbldnsd
# and redis-server behind it.  Shows, through real SMTP:
#  - 127.0.0.2 (listed) is rejected with 550 naming the zone; 127.0.0.1 is
#    delivered (to smtp-sink, over LMTP); postmaster is always accepted;
#  - a client not in the relay list cannot relay (554 Relay access denied),
#    and can after "redis-cli SADD rblmilter:relay 127.0.0.1";
#  - rblmilter's log line names the real client;
# and prints the median time of an SMTP session with no milter, with the
# milter over TCP and over the unix socket (figures, not assertions).
# Needs root (Postfix's own privilege separation).  Run by "make check".
set -u
here=$(cd "$(dirname "$0")" && pwd)
RBLMILTER=${RBLMILTER:-$here/../rblmilter}

if [ "$(id -u)" -ne 0 ]; then
	echo "postfix-milter: needs root to run a private Postfix; skipped"
	exit 77
fi
for tool in postfix smtp-sink smtp-source swaks rbldnsd redis-server redis-cli; do
	command -v "$tool" >/dev/null ||
		{ echo "postfix-milter: $tool not found"; exit 1; }
done

dir=$(mktemp -d /tmp/rblpostfix.XXXXXX)
chmod 755 "$dir"
pids=()
failed=0

cleanup() {
	postfix -c "$dir/postfix" stop >/dev/null 2>&1
	kill "${pids[@]}" 2>/dev/null
	wait 2>/dev/null
	if [ "$failed" -ne 0 ]; then
		echo "--- rblmilter log"; cat "$dir/rblmilter.log"
		echo "--- Postfix log"; cat "$dir/maillog" 2>/dev/null
	fi
	rm -rf "$dir"
}
trap cleanup EXIT

# port: a TCP port on 127.0.0.1 nobody listens on.
port() {
	local p
	while :; do
		p=$((20000 + RANDOM % 40000))
		(echo >/dev/tcp/127.0.0.1/$p) 2>/dev/null || { echo "$p"; return; }
	done
}

# check NAME CONDITION...: report one assertion.
check() {
	local name=$1
	shift
	if "$@"; then
		echo "ok: $name"
	else
		echo "FAIL: $name"
		failed=1
	fi
}

# wait_for SECONDS COMMAND...: poll until COMMAND succeeds.
wait_for() {
	local tries=$(($1 * 10))
	shift
	while ! "$@" 2>/dev/null; do
		tries=$((tries - 1))
		[ "$tries" -gt 0 ] || return 1
		sleep 0.1
	done
}

dns_port=$(port)
redis_port=$(port)
milter_port=$(port)
smtp_milter=$(port)
smtp_unix=$(port)
smtp_plain=$(port)
sink_smtp=$(port)
sink_lmtp=$(port)

# The DNSBL: 127.0.0.2 is listed.
printf '$TTL 300\n:127.0.0.2:Listed by the test\n127.0.0.2\n' >"$dir/zone"
chmod 644 "$dir/zone"
rbldnsd -n -q -b "127.0.0.1/$dns_port" -w "$dir" bl.test:ip4set:zone \
	>/dev/null 2>&1 &
pids+=($!)
redis-server --bind 127.0.0.1 --port "$redis_port" --save '' \
	--appendonly no --dir "$dir" --loglevel warning >/dev/null &
pids+=($!)
wait_for 5 redis-cli -p "$redis_port" ping >/dev/null ||
	{ echo "redis-server did not start"; failed=1; exit 1; }

cat >"$dir/rblmilter.conf" <<EOF
dns_servers = 127.0.0.1:$dns_port
dnsbl_sites = bl.test
dnsbl_reply_text = yes
redis_server = 127.0.0.1:$redis_port
milter_socket = inet:$milter_port@127.0.0.1
EOF
# The same, on a unix socket Postfix's smtpd (user postfix) may use.
sed "s|^milter_socket = .*|milter_socket = unix:$dir/rblmilter.sock|" \
	"$dir/rblmilter.conf" >"$dir/unix.conf"
printf 'socket_group = postfix\nsocket_mode = 0660\nuser = postfix\n' \
	>>"$dir/unix.conf"
chmod 644 "$dir"/*.conf
"$RBLMILTER" -c "$dir/rblmilter.conf" -f >"$dir/rblmilter.log" 2>&1 &
milter_tcp=$!
"$RBLMILTER" -c "$dir/unix.conf" -f >>"$dir/rblmilter.log" 2>&1 &
milter_unix=$!
pids+=("$milter_tcp" "$milter_unix")
wait_for 10 bash -c "echo >/dev/tcp/127.0.0.1/$milter_port" ||
	{ echo "rblmilter did not start"; failed=1; exit 1; }
wait_for 10 test -S "$dir/rblmilter.sock" ||
	{ echo "rblmilter (unix) did not start"; failed=1; exit 1; }

smtp-sink -u postfix "127.0.0.1:$sink_smtp" 100 &
pids+=($!)
smtp-sink -L -u postfix "127.0.0.1:$sink_lmtp" 100 &
pids+=($!)

# A private Postfix: local.test is delivered over LMTP to smtp-sink, other
# domains are relayed to smtp-sink.  Postfix itself lets every loopback
# client relay (mynetworks): rblmilter is the relay gate under test.
mkdir -p "$dir/postfix" "$dir/queue" "$dir/data"
chown postfix:postfix "$dir/data"
cat >"$dir/postfix/main.cf" <<EOF
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
smtpd_reject_unlisted_recipient = no
in_flow_delay = 0
milter_default_action = tempfail
milter_connect_timeout = 10s
milter_command_timeout = 10s
smtputf8_enable = no
biff = no
EOF
cat >"$dir/postfix/master.cf" <<EOF
127.0.0.1:$smtp_milter inet n - n - - smtpd -o smtpd_milters=inet:127.0.0.1:$milter_port
127.0.0.1:$smtp_unix inet n - n - - smtpd -o smtpd_milters=unix:$dir/rblmilter.sock
127.0.0.1:$smtp_plain inet n - n - - smtpd -o smtpd_milters=
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
postfix -c "$dir/postfix" check && postfix -c "$dir/postfix" start >/dev/null ||
	{ echo "postfix did not start"; failed=1; exit 1; }
wait_for 10 bash -c "echo >/dev/tcp/127.0.0.1/$smtp_plain" ||
	{ echo "postfix does not listen"; failed=1; exit 1; }

# send PORT SOURCE RCPT: one message with swaks; its transcript on stdout.
send() {
	swaks --server "127.0.0.1:$1" --local-interface "$2" --from a@sender.test \
		--to "$3" --helo client.test --timeout 20 2>&1
}

out=$(send "$smtp_milter" 127.0.0.2 u@local.test)
check "listed client rejected naming the zone (TCP milter)" \
	grep -q '<\*\* 550 5.7.1 Service unavailable; client \[127.0.0.2\] blocked using bl.test; Listed by the test' <<<"$out"
out=$(send "$smtp_unix" 127.0.0.2 u@local.test)
check "listed client rejected (unix socket milter)" \
	grep -q '<\*\* 550 5.7.1 .*blocked using bl.test' <<<"$out"
out=$(send "$smtp_milter" 127.0.0.2 postmaster@local.test)
check "postmaster is accepted from a listed client" \
	grep -q '<-  250 2.0.0 Ok: queued' <<<"$out"
out=$(send "$smtp_milter" 127.0.0.1 u@local.test)
check "clean client accepted" grep -q '<-  250 2.0.0 Ok: queued' <<<"$out"
check "clean client's message delivered over LMTP" \
	wait_for 10 grep -q "to=<u@local.test>, relay=127.0.0.1\[127.0.0.1\]:$sink_lmtp.*status=sent" "$dir/maillog"
check "rblmilter logs the real client IP" \
	grep -q 'client=127.0.0.2 .*stage=rcpt action=reject reason=dnsbl' "$dir/rblmilter.log"

out=$(send "$smtp_milter" 127.0.0.1 u@elsewhere.test)
check "not an open relay: 554 Relay access denied" \
	grep -q '<\*\* 554 5.7.1 <u@elsewhere.test>: Relay access denied' <<<"$out"
redis-cli -p "$redis_port" SADD rblmilter:relay 127.0.0.1/32 >/dev/null
sleep 2
out=$(send "$smtp_milter" 127.0.0.1 u@elsewhere.test)
check "relays after redis-cli SADD rblmilter:relay" \
	grep -q '<-  250 2.0.0 Ok: queued' <<<"$out"
check "the relayed message reaches the next hop" \
	wait_for 10 grep -q "to=<u@elsewhere.test>, relay=127.0.0.1\[127.0.0.1\]:$sink_smtp.*status=sent" "$dir/maillog"
out=$(send "$smtp_milter" 127.0.0.2 u@elsewhere.test)
check "a listed client still cannot relay" \
	grep -q '<\*\* 554 5.7.1 <u@elsewhere.test>: Relay access denied' <<<"$out"

# session_ms PORT: median milliseconds of 20 sessions of one message each.
session_ms() {
	local i start end
	for i in $(seq 20); do
		start=$(date +%s%N)
		smtp-source -c -m 1 -s 1 -f a@sender.test -t u@local.test \
			"127.0.0.1:$1" >/dev/null 2>&1
		end=$(date +%s%N)
		echo $(((end - start) / 1000))
	done | sort -n | awk '{ v[NR] = $1 } END { printf "%.1f", v[int((NR + 1) / 2)] / 1000 }'
}
echo "median SMTP session: no milter $(session_ms "$smtp_plain") ms," \
	"milter over TCP $(session_ms "$smtp_milter") ms," \
	"over a unix socket $(session_ms "$smtp_unix") ms"

# stopped PID: SIGTERM ends the daemon cleanly (exit 0, and under the
# sanitizers no report of errors or leaks).
stopped() {
	kill -TERM "$1"
	wait "$1"
}
check "rblmilter (TCP) stops cleanly on SIGTERM" stopped "$milter_tcp"
check "rblmilter (unix socket, user postfix) stops cleanly" \
	stopped "$milter_unix"
check "no sanitizer report" \
	bash -c "! grep -q Sanitizer '$dir/rblmilter.log'"

[ "$failed" -eq 0 ] && echo "postfix-milter: all checks passed"
exit "$failed"
