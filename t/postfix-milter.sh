#!/bin/bash
# Integration test: a private Postfix on loopback ports asks rblmilter about
# every SMTP session, over TCP and over a unix socket, and as a policy
# service (check_policy_service), with a real rbldnsd and redis-server
# behind it.  Shows, through real SMTP:
#  - 127.0.0.2 (listed) is rejected with 550 naming the zone; 127.0.0.1 is
#    delivered (to smtp-sink, over LMTP); postmaster is always accepted;
#  - a client not in the relay list cannot relay (554 Relay access denied),
#    and can after "redis-cli SADD rblmilter:relay 127.0.0.1";
#  - rblmilter's log line names the real client, and it stops cleanly;
# and prints the median time of an SMTP session with no milter, with the
# milter over TCP and over the unix socket (figures, not assertions).
# Needs root (Postfix's own privilege separation).  Run by "make check".
set -u
here=$(cd "$(dirname "$0")" && pwd)
RBLMILTER=${RBLMILTER:-$here/../rblmilter}
. "$here/lib.sh"

if [ "$(id -u)" -ne 0 ]; then
	echo "postfix-milter: needs root to run a private Postfix; skipped"
	exit 77
fi
lib_setup postfix 20000
trap lib_cleanup EXIT
lib_need postfix smtp-sink smtp-source swaks rbldnsd redis-server redis-cli

lib_rbldnsd
lib_redis
milter_port=$(lib_port)
policy_port=$(lib_port)
lib_rblmilter_conf "$dir/rblmilter.conf" \
	"milter_socket = inet:$milter_port@127.0.0.1
policy_socket = inet:127.0.0.1:$policy_port
"
# The same, on a unix socket that Postfix's smtpd (user postfix) may use,
# in a directory of the daemon's user, as rblmilter(8) says.
install -d -o postfix -g postfix -m 0750 "$dir/sock"
lib_rblmilter_conf "$dir/unix.conf" \
	"milter_socket = unix:$dir/sock/rblmilter.sock
socket_group = postfix
socket_mode = 0660
user = postfix
"
lib_rblmilter "$dir/rblmilter.conf" "$milter_port"
milter_tcp=$milter_pid
"$RBLMILTER" -c "$dir/unix.conf" -f >>"$dir/rblmilter.log" 2>&1 &
milter_unix=$!
lib_pids+=("$milter_unix")
lib_wait_for 10 test -S "$dir/sock/rblmilter.sock" ||
	lib_die "rblmilter (unix) did not start"
stat -c '%U %G %a %F' "$dir/sock/rblmilter.sock" >"$dir/sock.stat"

lib_sinks
lib_postfix_conf
smtp_milter=$(lib_port)
smtp_unix=$(lib_port)
smtp_plain=$(lib_port)
smtp_policy=$(lib_port)
lib_postfix_rblmilter "$policy_port"
cat >>"$lib_postfix/main.cf" <<EOF
rbl_relay = check_policy_service { inet:127.0.0.1:$policy_port, timeout=10s, default_action=DUNNO, policy_context=relay }, reject_unauth_destination
EOF
cat >>"$lib_postfix/master.cf" <<EOF
127.0.0.1:$smtp_milter inet n - n - - smtpd -o smtpd_milters=inet:127.0.0.1:$milter_port
127.0.0.1:$smtp_unix inet n - n - - smtpd -o smtpd_milters=unix:$dir/sock/rblmilter.sock
127.0.0.1:$smtp_plain inet n - n - - smtpd -o smtpd_milters=
127.0.0.1:$smtp_policy inet n - n - - smtpd -o smtpd_milters= -o smtpd_relay_restrictions=\$rbl_relay -o smtpd_recipient_restrictions=\$rbl_policy,permit
EOF
lib_postfix_start "$smtp_plain"

out=$(lib_send "$smtp_milter" 127.0.0.2 u@local.test)
lib_check "listed client rejected naming the zone (TCP milter)" \
	grep -q '<\*\* 550 5.7.1 Service unavailable; client \[127.0.0.2\] blocked using bl.test; Listed by the test' <<<"$out"
out=$(lib_send "$smtp_unix" 127.0.0.2 u@local.test)
lib_check "listed client rejected (unix socket milter)" \
	grep -q '<\*\* 550 5.7.1 .*blocked using bl.test' <<<"$out"
out=$(lib_send "$smtp_milter" 127.0.0.2 postmaster@local.test)
lib_check "postmaster is accepted from a listed client" \
	grep -q '<-  250 2.0.0 Ok: queued' <<<"$out"
out=$(lib_send "$smtp_milter" 127.0.0.1 u@local.test)
lib_check "clean client accepted" grep -q '<-  250 2.0.0 Ok: queued' <<<"$out"
lib_check "clean client's message delivered over LMTP" \
	lib_delivered u@local.test "$sink_lmtp"
lib_check "rblmilter logs the real client IP" \
	grep -q 'client=127.0.0.2 .*stage=rcpt action=reject reason=dnsbl' "$dir/rblmilter.log"

out=$(lib_send "$smtp_policy" 127.0.0.2 u@local.test)
lib_check "policy service: listed client rejected naming the zone" \
	grep -q '<\*\* 550 5.7.1 .*client \[127.0.0.2\] blocked using bl.test' <<<"$out"
out=$(lib_send "$smtp_policy" 127.0.0.1 pol@local.test)
lib_check "policy service: clean client accepted" \
	grep -q '<-  250 2.0.0 Ok: queued' <<<"$out"
lib_check "policy service: its decision is logged" \
	grep -q 'client=127.0.0.2 daemon= front=policy .*action=reject reason=dnsbl' "$dir/rblmilter.log"
out=$(lib_send "$smtp_policy" 127.0.0.1 p@elsewhere.test)
lib_check "policy service: not an open relay (reject_unauth_destination)" \
	grep -q '<\*\* 554 5.7.1 <p@elsewhere.test>: Relay access denied' <<<"$out"

out=$(lib_send "$smtp_milter" 127.0.0.1 u@elsewhere.test)
lib_check "not an open relay: 554 Relay access denied" \
	grep -q '<\*\* 554 5.7.1 <u@elsewhere.test>: Relay access denied' <<<"$out"
redis-cli -p "$redis_port" SADD rblmilter:relay 127.0.0.1/32 >/dev/null
sleep 2
out=$(lib_send "$smtp_milter" 127.0.0.1 u@elsewhere.test)
lib_check "relays after redis-cli SADD rblmilter:relay" \
	grep -q '<-  250 2.0.0 Ok: queued' <<<"$out"
lib_check "the relayed message reaches the next hop" \
	lib_delivered u@elsewhere.test "$sink_smtp"
out=$(lib_send "$smtp_policy" 127.0.0.1 p@elsewhere.test)
lib_check "policy service: relays after redis-cli SADD rblmilter:relay" \
	grep -q '<-  250 2.0.0 Ok: queued' <<<"$out"
out=$(lib_send "$smtp_milter" 127.0.0.2 u@elsewhere.test)
lib_check "a listed client still cannot relay" \
	grep -q '<\*\* 554 5.7.1 <u@elsewhere.test>: Relay access denied' <<<"$out"

echo "median SMTP session: no milter $(lib_session_ms "$smtp_plain") ms," \
	"milter over TCP $(lib_session_ms "$smtp_milter") ms," \
	"over a unix socket $(lib_session_ms "$smtp_unix") ms"

# rblmilter --report on this log: its numbers are the log's.
"$RBLMILTER" --report "$dir/rblmilter.log" >"$dir/report.txt"
cat "$dir/report.txt"
lib_check "--report counts the relay refusals" \
	grep -qx "  relay refusals *$(grep -c 'action=relay' "$dir/rblmilter.log")" \
	"$dir/report.txt"
lib_check "--report counts the rejects" \
	grep -qE "^  reject +$(grep -c 'action=reject' "$dir/rblmilter.log") " \
	"$dir/report.txt"
lib_check "--report names the rejected client" \
	grep -qE '^  127\.0\.0\.2 +[1-9]' "$dir/report.txt"

lib_check "rblmilter (TCP) stops cleanly on SIGTERM" lib_stopped "$milter_tcp"
lib_check "rblmilter (unix socket, user postfix) stops cleanly" \
	lib_stopped "$milter_unix"
lib_check "rblmilter (unix socket) made its socket postfix:postfix 0660" \
	test "$(cat "$dir/sock.stat")" = "postfix postfix 660 socket"
lib_check "rblmilter (unix socket) removed its socket at the stop" \
	test ! -e "$dir/sock/rblmilter.sock"

[ "$failed" -eq 0 ] && echo "postfix-milter: all checks passed"
exit "$failed"
