#!/bin/bash
# Integration test of the whole chain, on loopback ports:
#   client -> HAProxy (send-proxy) -> postscreen (PROXY aware) -> smtpd
#          -> rblmilter -> rbldnsd and redis-server
# built from the sample files etc/haproxy/haproxy.cfg, etc/postfix/main.cf
# and etc/postfix/master.cf, changed only by the substitutions their own
# comments describe.  Run once with PROXY protocol v1 and once with v2.
# Clients connect to HAProxy from 127.0.0.2 (listed) and 127.0.0.1; HAProxy
# connects to the MX from 127.0.0.3.  Shows: the listed client is rejected
# naming the zone, the other is delivered, rblmilter logs the real client
# and never HAProxy's address, and the chain is not an open relay until
# "redis-cli SADD rblmilter:relay".  Needs root.  Run by "make check".
set -u
here=$(cd "$(dirname "$0")" && pwd)
etc=$here/../etc
RBLMILTER=${RBLMILTER:-$here/../rblmilter}
. "$here/lib.sh"

if [ "$(id -u)" -ne 0 ]; then
	echo "postfix-chain: needs root to run a private Postfix; skipped"
	exit 77
fi
lib_setup chain 14000
trap lib_cleanup EXIT
lib_need postfix smtp-sink swaks rbldnsd redis-server redis-cli haproxy

lib_rbldnsd
lib_redis
milter_port=$(lib_port)
lib_rblmilter_conf "$dir/rblmilter.conf" \
	"milter_socket = inet:$milter_port@127.0.0.1
"
lib_rblmilter "$dir/rblmilter.conf" "$milter_port"
lib_sinks

# Postfix: the test base plus the sample lines, postscreen on two ports
# (mx1, mx2), as the sample master.cf's comment says.
lib_postfix_conf
mx1=$(lib_port)
mx2=$(lib_port)
sed "s/inet:127.0.0.1:8891/inet:127.0.0.1:$milter_port/" \
	"$etc/postfix/main.cf" >>"$lib_postfix/main.cf"
grep -v '^#' "$etc/postfix/master.cf" | sed 's/ y / n /' >"$dir/master.cf"
# Two postscreen processes need a cache each (a cache has one writer).
for port in "$mx1" "$mx2"; do
	sed -n "s/^smtp /127.0.0.1:$port /p" "$dir/master.cf" |
		sed "s|\$| -o postscreen_cache_map=btree:$dir/data/ps$port|"
done >>"$lib_postfix/master.cf"
grep -v '^smtp ' "$dir/master.cf" >>"$lib_postfix/master.cf"
lib_postfix_start "$mx1"

# haproxy_start VERSION: HAProxy from the sample, PROXY protocol v1 or v2.
haproxy_start() {
	local send=send-proxy
	[ "$1" = 2 ] && send=send-proxy-v2
	front=$(lib_port)
	sed -e "s|^\tlog /dev/log local0|\tlog stdout format raw local0|" \
		-e "s|^\tbind :25|\tbind 127.0.0.1:$front|" \
		-e "s|^\tserver mx1 192.0.2.11:25|\tserver mx1 127.0.0.1:$mx1 source 127.0.0.3|" \
		-e "s|^\tserver mx2 192.0.2.12:25|\tserver mx2 127.0.0.1:$mx2 source 127.0.0.3|" \
		-e "s| send-proxy | $send |" \
		"$etc/haproxy/haproxy.cfg" >"$dir/haproxy.cfg"
	haproxy -db -f "$dir/haproxy.cfg" >>"$dir/haproxy.log" 2>&1 &
	haproxy_pid=$!
	lib_pids+=("$haproxy_pid")
	lib_wait_for 10 lib_listening "$front" || lib_die "haproxy did not start"
}

# chain VERSION: the checks through HAProxy with PROXY protocol VERSION.
chain() {
	local v=$1 out
	haproxy_start "$v"
	lib_check "v$v: HAProxy config is the sample's" \
		grep -q "server mx1 127.0.0.1:$mx1 source 127.0.0.3" "$dir/haproxy.cfg"
	out=$(lib_send "$front" 127.0.0.2 "u$v@local.test")
	lib_check "v$v: listed client rejected naming the zone" \
		grep -q '<\*\* 550 5.7.1 Service unavailable; client \[127.0.0.2\] blocked using bl.test' <<<"$out"
	out=$(lib_send "$front" 127.0.0.1 "ok$v@local.test")
	lib_check "v$v: clean client accepted" \
		grep -q '<-  250 2.0.0 Ok: queued' <<<"$out"
	lib_check "v$v: and delivered" lib_delivered "ok$v@local.test" "$sink_lmtp"
	lib_check "v$v: postscreen saw the real client" \
		test "$(grep -c 'postscreen.*CONNECT from \[127.0.0.2\]' \
			"$dir/maillog")" -ge "$v"
	lib_check "v$v: rblmilter logged the real client" \
		grep -q "client=127.0.0.2 .*rcpt=\"<u$v@local.test>\"" "$dir/rblmilter.log"
	lib_check "v$v: rblmilter never saw HAProxy's address" \
		bash -c "! grep -q 'client=127.0.0.3' '$dir/rblmilter.log'"
	out=$(lib_send "$front" 127.0.0.1 "u$v@elsewhere.test")
	lib_check "v$v: not an open relay" \
		grep -q "<\*\* 554 5.7.1 <u$v@elsewhere.test>: Relay access denied" <<<"$out"
	redis-cli -p "$redis_port" SADD rblmilter:relay 127.0.0.1 >/dev/null
	sleep 2
	out=$(lib_send "$front" 127.0.0.1 "r$v@elsewhere.test")
	lib_check "v$v: relays after redis-cli SADD rblmilter:relay" \
		grep -q '<-  250 2.0.0 Ok: queued' <<<"$out"
	lib_check "v$v: the relayed message reaches the next hop" \
		lib_delivered "r$v@elsewhere.test" "$sink_smtp"
	redis-cli -p "$redis_port" SREM rblmilter:relay 127.0.0.1 >/dev/null
	kill "$haproxy_pid"
	wait "$haproxy_pid" 2>/dev/null
	sleep 2
}

chain 1
chain 2
lib_check "rblmilter stops cleanly on SIGTERM" lib_stopped "$milter_pid"

[ "$failed" -eq 0 ] && echo "postfix-chain: all checks passed"
exit "$failed"
