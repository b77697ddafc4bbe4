#!/bin/bash
# Integration test: greylisting shared by two MX through one Redis.  One
# private Postfix with two smtpd listeners stands for two MX behind a
# load balancer: MX A asks rblmilter daemon A, MX B daemon B; both
# daemons share one redis-server.  A third listener asks daemon A as a
# policy service.  Zones (rbldnsd):
#   bl.test  (weight 3)  lists 127.0.0.2;
#   pbl.test (weight 1)  lists 127.0.0.5 to 127.0.0.9: grey clients;
# dnsbl_threshold = 3, greylist_threshold = 1, greylist_delay = 2s, and
# greylist_network_v4 = 32, since every client here is in 127.0.0.0/24;
# 127.0.0.8 is on the relay list.  Shows, with swaks:
#  - a grey client is deferred on A (451 4.7.1 ... Greylisted, try again
#    in 2 seconds; greylist=new), deferred again on B when it retries too
#    early (greylist=early), accepted on B after the delay
#    (greylist=passed) and then on A with another recipient at once (its
#    network passes);
#  - a clean client and a relay-listed grey client are never deferred;
#  - two sessions of one grey client on A and B at the same moment are
#    both deferred, with one first attempt in Redis, and both pass after
#    the delay (SET NX);
#  - the policy service answers DEFER_IF_PERMIT, so Postfix says 450
#    4.7.1 ... Greylisted, then accepts after the delay;
#  - daemon A's metrics count its greylisting answers and decisions;
#  - rblmilter --check says action=greylist and writes nothing to Redis;
#  - with Redis stopped, a grey client passes (greylist=off), logged once.
# Needs root (Postfix's own privilege separation).  Run by "make check".
set -u
here=$(cd "$(dirname "$0")" && pwd)
RBLMILTER=${RBLMILTER:-$here/../rblmilter}
. "$here/lib.sh"

if [ "$(id -u)" -ne 0 ]; then
	echo "postfix-greylist: needs root to run a private Postfix; skipped"
	exit 77
fi
lib_setup greylist 12000
trap lib_cleanup EXIT
lib_need postfix smtp-sink swaks rbldnsd redis-server redis-cli "$RBLMILTER"

printf '$TTL 300\n:127.0.0.2:Listed by the test\n127.0.0.2\n' >"$dir/bl"
printf '$TTL 300\n:127.0.0.10:Dynamic range\n127.0.0.5\n127.0.0.6\n127.0.0.7\n127.0.0.8\n127.0.0.9\n' \
	>"$dir/pbl"
echo 127.0.0.8 >"$dir/relay"
chmod 644 "$dir/bl" "$dir/pbl" "$dir/relay"
dns_port=$(lib_port)
rbldnsd -n -b "127.0.0.1/$dns_port" -w "$dir" bl.test:ip4set:bl \
	pbl.test:ip4set:pbl >"$dir/rbldnsd.log" 2>&1 &
lib_pids+=($!)
lib_wait_for 10 grep -q started "$dir/rbldnsd.log" || lib_die "rbldnsd did not start"
dns_server=127.0.0.1:$dns_port
dns_zones="bl.test*3 pbl.test*1"
lib_redis

milter_a=$(lib_port)
milter_b=$(lib_port)
policy_a=$(lib_port)
metrics_a=$(lib_port)
settings="dnsbl_threshold = 3
greylist_threshold = 1
greylist_delay = 2s
greylist_network_v4 = 32
relay_hosts = $dir/relay
"
lib_rblmilter_conf "$dir/a.conf" "milter_socket = inet:$milter_a@127.0.0.1
policy_socket = inet:127.0.0.1:$policy_a
metrics_socket = inet:127.0.0.1:$metrics_a
$settings"
lib_rblmilter_conf "$dir/b.conf" "milter_socket = inet:$milter_b@127.0.0.1
$settings"
# Each daemon logs to a file of its own (lib_rblmilter writes one log).
"$RBLMILTER" -c "$dir/a.conf" -f >>"$dir/a.log" 2>&1 &
pid_a=$!
lib_pids+=("$pid_a")
"$RBLMILTER" -c "$dir/b.conf" -f >>"$dir/b.log" 2>&1 &
pid_b=$!
lib_pids+=("$pid_b")
lib_wait_for 10 lib_listening "$milter_a" || lib_die "rblmilter A did not start"
lib_wait_for 10 lib_listening "$milter_b" || lib_die "rblmilter B did not start"

lib_sinks
lib_postfix_conf
mx_a=$(lib_port)
mx_b=$(lib_port)
mx_policy=$(lib_port)
lib_postfix_rblmilter "$policy_a"
cat >>"$lib_postfix/master.cf" <<EOF
127.0.0.1:$mx_a inet n - n - - smtpd -o smtpd_milters=inet:127.0.0.1:$milter_a
127.0.0.1:$mx_b inet n - n - - smtpd -o smtpd_milters=inet:127.0.0.1:$milter_b
127.0.0.1:$mx_policy inet n - n - - smtpd -o smtpd_milters= -o smtpd_recipient_restrictions=\$rbl_policy,permit
EOF
lib_postfix_start "$mx_a"

# send PORT SOURCE RCPT: one message, transcript on stdout.
send() {
	swaks --server "127.0.0.1:$1" --local-interface "$2" --ehlo client.test \
		--from s@sender.test --to "$3" --timeout 20 2>&1
}
# decision LOG RCPT: the last decision line of daemon LOG for RCPT.
decision() {
	grep -F "rcpt=\"<$2>\"" "$dir/$1.log" | tail -n 1
}
queued() {
	grep -q '<-  250 2.0.0 Ok: queued' <<<"$1"
}
# deferred TRANSCRIPT RCPT SECONDS: the milter's greylisting reply.
deferred() {
	grep -q "<\*\* 451 4.7.1 <$2>: Recipient address rejected: Greylisted, try again in $3 seconds" <<<"$1"
}
first_attempts() {
	redis-cli -p "$redis_port" --scan --pattern 'rblmilter:g:*' | wc -l
}
# has TEXT REGEX
has() {
	grep -qE -- "$2" <<<"$1"
}
# lacks TEXT STRING
lacks() {
	! grep -qF -- "$2" <<<"$1"
}

# 1. A grey client: deferred on A, too early on B, passes on B, then on A.
out=$(send "$mx_a" 127.0.0.5 g1@local.test)
lib_check "grey client on MX A: 451 4.7.1 ... Greylisted, try again in 2 seconds" \
	deferred "$out" g1@local.test 2
lib_check "A's decision line: action=greylist reason=greylist greylist=new greylist_wait=2 score=1" \
	has "$(decision a g1@local.test)" 'client=127\.0\.0\.5 .*action=greylist reason=greylist .*greylist=new greylist_wait=2 .*score=1 '
out=$(send "$mx_b" 127.0.0.5 g1@local.test)
lib_check "its early retry on MX B: deferred again" \
	grep -q '<\*\* 451 4.7.1 <g1@local.test>: Recipient address rejected: Greylisted, try again in [12] seconds' <<<"$out"
lib_check "B's decision line: greylist=early" \
	has "$(decision b g1@local.test)" 'action=greylist reason=greylist .*greylist=early greylist_wait=[12] '
sleep 2.2
out=$(send "$mx_b" 127.0.0.5 g1@local.test)
lib_check "its retry on MX B after the delay: accepted" queued "$out"
lib_check "... and delivered" lib_delivered g1@local.test "$sink_lmtp"
lib_check "B's decision line: action=pass greylist=passed" \
	has "$(decision b g1@local.test)" 'action=pass reason=greylist .*greylist=passed '
out=$(send "$mx_a" 127.0.0.5 g2@local.test)
lib_check "then on MX A, another recipient: accepted without a delay (the network passes)" \
	queued "$out"
lib_check "A's decision line: greylist=passed" \
	has "$(decision a g2@local.test)" 'action=pass .*greylist=passed '

# 2. A clean client and a relay-listed grey client: never deferred.
out=$(send "$mx_a" 127.0.0.1 c1@local.test)
lib_check "clean client on MX A: accepted" queued "$out"
lib_check "... its decision line has no greylist=" \
	lacks "$(grep -F 'client=127.0.0.1 ' "$dir/a.log" | tail -n 1)" greylist=
out=$(send "$mx_b" 127.0.0.8 r1@local.test)
lib_check "relay-listed grey client on MX B: accepted" queued "$out"
line=$(grep -F 'client=127.0.0.8 ' "$dir/b.log" | tail -n 1)
lib_check "... its decision line: list=relay, score=1" \
	has "$line" ' list=relay .*score=1 '
lib_check "... and no greylist=" lacks "$line" greylist=

# 3. Two MX see the first attempt at the same moment.
before=$(first_attempts)
send "$mx_a" 127.0.0.6 race@local.test >"$dir/race-a.out" &
race_a=$!
send "$mx_b" 127.0.0.6 race@local.test >"$dir/race-b.out" &
race_b=$!
wait "$race_a" "$race_b"
lib_check "racing first attempts: deferred on A" \
	deferred "$(cat "$dir/race-a.out")" race@local.test '[12]'
lib_check "racing first attempts: deferred on B" \
	deferred "$(cat "$dir/race-b.out")" race@local.test '[12]'
after=$(first_attempts)
lib_check "one first attempt in Redis for both ($before before, $after after)" \
	test "$after" -eq $((before + 1))
outcomes=$( (decision a race@local.test; decision b race@local.test) |
	grep -oE 'greylist=[a-z]+' | sort | tr '\n' ' ')
lib_check "one daemon made it, the other read it: $outcomes" \
	test "$outcomes" = "greylist=early greylist=new "
sleep 2.2
out=$(send "$mx_b" 127.0.0.6 race@local.test)
lib_check "after the delay the racing client passes on B" queued "$out"
out=$(send "$mx_a" 127.0.0.6 race@local.test)
lib_check "... and on A" queued "$out"

# 4. The policy service: DEFER_IF_PERMIT, which Postfix answers 450.
out=$(send "$mx_policy" 127.0.0.7 p1@local.test)
lib_check "policy service: 450 4.7.1 <p1@local.test>: Recipient address rejected: Greylisted, try again in 2 seconds" \
	grep -q '<\*\* 450 4.7.1 <p1@local.test>: Recipient address rejected: Greylisted, try again in 2 seconds' <<<"$out"
lib_check "policy service: its decision line front=policy greylist=new" \
	has "$(grep -F 'rcpt="p1@local.test"' "$dir/a.log" | tail -n 1)" 'front=policy .*action=greylist .*greylist=new '
sleep 2.2
out=$(send "$mx_policy" 127.0.0.7 p1@local.test)
lib_check "policy service: accepted after the delay" queued "$out"

# 5. A's metrics: every greylisting answer it had, and the decisions.
# metric NAME: its value on A's metrics page (0 when absent).
metric() {
	local page
	page=$(exec 3<>"/dev/tcp/127.0.0.1/$metrics_a" &&
		printf 'GET /metrics HTTP/1.0\r\n\r\n' >&3 && cat <&3)
	awk -v m="$1" '$1 == m { v = $2 } END { print v + 0 }' <<<"$page"
}
new=$(metric 'rblmilter_greylist_checks_total{outcome="new"}')
early=$(metric 'rblmilter_greylist_checks_total{outcome="early"}')
lib_check "A's metrics: greylist_checks_total passed 3 (g2, race, p1)" \
	test "$(metric 'rblmilter_greylist_checks_total{outcome="passed"}')" -eq 3
lib_check "A's metrics: new + early = 3 (g1, race, p1): $new + $early" \
	test $((new + early)) -eq 3
lib_check "A's metrics: one policy decision action=greylist reason=greylist" \
	test "$(metric 'rblmilter_decisions_total{front="policy",action="greylist",reason="greylist"}')" -eq 1

# 6. --check says what would happen, and writes nothing.
before=$(first_attempts)
out=$("$RBLMILTER" -c "$dir/a.conf" --check 127.0.0.9 2>/dev/null)
lib_check "rblmilter --check 127.0.0.9: action=greylist reason=greylist" \
	has "$out" 'client=127\.0\.0\.9 .*action=greylist reason=greylist '
lib_check "--check wrote no first attempt" test "$(first_attempts)" -eq "$before"

# 7. Redis stopped: greylisting is off, said once, mail passes.
kill "$redis_pid"
wait "$redis_pid" 2>/dev/null
out=$(send "$mx_a" 127.0.0.9 d1@local.test)
lib_check "Redis stopped: a grey client passes on A" queued "$out"
out=$(send "$mx_a" 127.0.0.9 d2@local.test)
lib_check "... again" queued "$out"
lib_check "A's decision line: greylist=off" \
	has "$(decision a d2@local.test)" 'action=pass .*greylist=off'
lib_check "\"greylisting is off\" logged once by A" \
	test "$(grep -c 'greylisting: Redis does not answer; greylisting is off' "$dir/a.log")" -eq 1

lib_check "rblmilter A stops cleanly on SIGTERM" lib_stopped "$pid_a"
lib_check "rblmilter B stops cleanly on SIGTERM" lib_stopped "$pid_b"
lib_check "no sanitizer report in either daemon's log" \
	eval '! grep -q Sanitizer "$dir/a.log" "$dir/b.log"'

[ "$failed" -eq 0 ] && echo "postfix-greylist: all checks passed"
exit "$failed"
