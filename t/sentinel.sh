#!/bin/bash
# Test: rblmilter follows a Redis Sentinel failover under load.
#
# A redis-server primary, one replica and three sentinels (quorum 2) on
# loopback ports; rblmilter (cache_size = 0, so every verdict goes through
# Redis) is given a sentinel that does not exist first, then the three.
# t/bench/milterload keeps four sessions open at a time while the primary
# is SIGKILLed.  Checks: no session fails and every RCPT decision arrives
# within redis_timeout + dnsbl_timeout (plus a margin for a loaded
# machine); the log names the old primary down, the promoted replica as
# the new primary, and says Redis is back; verdicts are read from Redis
# again afterwards; the lists get change notices from the new primary;
# "rblmilter --check" also finds the new primary.
# Prints ok:/FAIL: lines and the load generator's figures.
set -u
here=$(cd "$(dirname "$0")" && pwd)
RBLMILTER=${RBLMILTER:-$PWD/rblmilter}
MILTERLOAD=${MILTERLOAD:-$PWD/t/bench/milterload}
. "$here/lib.sh"

lib_setup sentinel 26000
trap lib_cleanup EXIT
lib_need redis-server redis-cli rbldnsd "$RBLMILTER" "$MILTERLOAD"

lib_rbldnsd
lib_redis
primary=$redis_port
primary_pid=$redis_pid
mkdir "$dir/replica"
lib_redis --dir "$dir/replica" --replicaof 127.0.0.1 "$primary"
replica=$redis_port
unset redis_port

# Sentinels rewrite their configuration files: one each.
sentinels=""
for i in 1 2 3; do
	port=$(lib_port)
	cat >"$dir/sentinel$i.conf" <<EOF
bind 127.0.0.1
port $port
dir $dir
sentinel monitor mymaster 127.0.0.1 $primary 2
sentinel down-after-milliseconds mymaster 1000
sentinel failover-timeout mymaster 10000
EOF
	redis-server "$dir/sentinel$i.conf" --sentinel --loglevel warning \
		>>"$dir/sentinels.log" 2>&1 &
	lib_pids+=($!)
	sentinels="$sentinels, 127.0.0.1:$port"
	last_sentinel=$port
done

# Ready: the replica is in sync and the sentinels know one another.
replica_synced() {
	redis-cli -p "$replica" info replication |
		grep -q '^master_link_status:up'
}
sentinels_met() {
	[ "$(redis-cli -p "$last_sentinel" sentinel sentinels mymaster |
		grep -c '^name$')" -eq 2 ]
}
lib_wait_for 20 replica_synced || lib_die "the replica did not sync"
lib_wait_for 20 sentinels_met || lib_die "the sentinels did not meet"

milter_port=$(lib_port)
lib_rblmilter_conf "$dir/rblmilter.conf" \
	"milter_socket = inet:$milter_port@127.0.0.1
redis_sentinels = 127.0.0.1:$(lib_port)$sentinels
redis_master_name = mymaster
redis_timeout = 100ms
dnsbl_timeout = 500ms
cache_size = 0
"
lib_rblmilter "$dir/rblmilter.conf" "$milter_port"
log=$dir/rblmilter.log

logged() {
	grep -qF "$1" "$log"
}
lib_check "the sentinels name the primary" lib_wait_for 10 logged \
	"redis sentinels name 127.0.0.1:$primary as the primary of mymaster"

# Fill the cache: 50 clients, each seen four times.
"$MILTERLOAD" -s "inet:$milter_port@127.0.0.1" -c 4 -n 200 -r 50 \
	>"$dir/warm.out" 2>&1
lib_check "verdicts come from Redis before the failover" \
	lib_wait_for 5 logged "cache=redis"

# Load for 25 s; the primary dies after 3.
"$MILTERLOAD" -s "inet:$milter_port@127.0.0.1" -c 4 -n 10000000 -r 50 \
	-t 25 >"$dir/load.out" 2>&1 &
load_pid=$!
sleep 3
# Waited for here, so that bash does not report the kill.
{ kill -KILL "$primary_pid"; wait "$primary_pid"; } 2>/dev/null
wait "$load_pid"
cat "$dir/load.out"

field() {
	grep -o "\b$1=[0-9.]*" "$dir/load.out" | head -1 | cut -d= -f2
}
errors=$(field errors)
done_count=$(field done)
rcpt_max=$(field rcpt_max_ms)
echo "failover: $done_count sessions, $errors errors, slowest RCPT ${rcpt_max} ms"
lib_check "no session failed during the failover" [ "${errors:-1}" -eq 0 ]
lib_check "sessions went on during the failover" [ "${done_count:-0}" -gt 100 ]
# redis_timeout + dnsbl_timeout = 600 ms; 400 ms for a loaded machine.
lib_check "every decision within redis_timeout + dnsbl_timeout" \
	awk -v ms="${rcpt_max:-99999}" 'BEGIN { exit !(ms < 1000) }'

lib_check "the log says the primary is down" \
	logged "redis 127.0.0.1:$primary is down"
lib_check "the log names the promoted replica" lib_wait_for 20 logged \
	"redis sentinels name 127.0.0.1:$replica as the primary of mymaster"
lib_check "the log says Redis is back" lib_wait_for 20 logged \
	"redis 127.0.0.1:$replica is back"
promoted() {
	redis-cli -p "$replica" role | head -1 | grep -qx master
}
lib_check "the replica was promoted" promoted
grep 'redis' "$log" | grep -v 'cache=' | sed 's/^/log: /'

# Verdicts read from the new primary: lines after the "back" line.
from_redis_after() {
	sed -n "/redis 127.0.0.1:$replica is back/,\$p" "$log" |
		grep -q "cache=redis"
}
"$MILTERLOAD" -s "inet:$milter_port@127.0.0.1" -c 4 -n 100 -r 50 \
	>"$dir/after.out" 2>&1
lib_check "verdicts come from the new primary" lib_wait_for 5 from_redis_after

# The lists follow the new primary, its change notices too: a swap in the
# deny set (one member for another, so SCARD stays) takes effect within
# seconds, where without notices it would wait for redis_list_resync (5m).
health=$(hostname)
notices_on() {
	redis-cli -p "$replica" HGET rblmilter:health "lists@$health" |
		grep -q "notices=on"
}
lib_check "the lists get change notices from the new primary" \
	lib_wait_for 10 notices_on
echo 192.0.2.200 >"$dir/deny.ips"
denied() {
	"$MILTERLOAD" -s "inet:$milter_port@127.0.0.1" -c 1 -n 1 \
		-i "$dir/deny.ips" >/dev/null 2>&1
	grep -q "client=192.0.2.200 .*reason=deny-list" "$log"
}
redis-cli -p "$replica" SADD rblmilter:deny 192.0.2.201 >/dev/null
sleep 2
redis-cli -p "$replica" EVAL "redis.call('SREM', KEYS[1], '192.0.2.201')
	redis.call('SADD', KEYS[1], '192.0.2.200')" 1 rblmilter:deny >/dev/null
lib_check "a same-size change on the new primary takes effect" \
	lib_wait_for 5 denied

# The first run stores the verdict, the second reads it.
check() {
	"$RBLMILTER" -c "$dir/rblmilter.conf" --check 203.0.113.7 2>&1 |
		tee -a "$dir/check.out" | grep -q "cache=$1"
}
lib_check "rblmilter --check stores into the new primary" check miss
lib_check "rblmilter --check reads from the new primary" check redis

exit "$failed"
