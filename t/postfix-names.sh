#!/bin/bash
# Integration test: domain reputation (rhsbl_sites) through real SMTP.  A
# private Postfix on loopback ports asks rblmilter as a Milter (and, on a
# second listener, as a policy service); rblmilter asks a real rbldnsd
# through t/dnsdelay, whose query log shows every name asked.  Zones:
#   bl.test  (ip4set, weight 3)   lists 127.0.0.2 only;
#   wl.test  (ip4set, weight -5)  a DNSWL: 127.0.10.2 for 127.0.0.4
#                                 (and the test point 127.0.0.2);
#   dbl.test (dnset,  weight 3)   spam.example, mail.evil.example and
#                                 "test" (RFC 5782's TEST), not INVALID;
# dnsbl_threshold = 3.  Shows, with swaks:
#  - 127.0.0.1 (no IP zone lists it) sending as a@spam.example is refused
#    at RCPT with "550 ... sender domain spam.example blocked using
#    dbl.test", and the decision line says
#    listed=dbl.test[sender=spam.example](127.0.1.2);
#  - EHLO mail.spam.example (asked as spam.example) from 127.0.0.4, which
#    the DNSWL lists, scores 3 - 5 = -2 and is delivered; the same EHLO
#    from 127.0.0.3 scores 3 and is refused naming "helo name
#    spam.example"; EHLO mail.evil.example, listed under its full name
#    only, is refused naming "helo name mail.evil.example";
#  - the null sender and the address literal EHLO [127.0.0.1] are not
#    looked up: no query under dbl.test but the health probes (TEST,
#    INVALID) during that session, and no dbl.test in its decision line;
#  - check_policy_service does the same for the sender domain and the
#    DNSWL'd HELO.
# Needs root (Postfix's own privilege separation).  Run by "make check".
set -u
here=$(cd "$(dirname "$0")" && pwd)
RBLMILTER=${RBLMILTER:-$here/../rblmilter}
DNSDELAY=${DNSDELAY:-$here/dnsdelay}
. "$here/lib.sh"

if [ "$(id -u)" -ne 0 ]; then
	echo "postfix-names: needs root to run a private Postfix; skipped"
	exit 77
fi
lib_setup names 18000
trap lib_cleanup EXIT
lib_need postfix smtp-sink swaks rbldnsd "$RBLMILTER" "$DNSDELAY"

# The zones.  The DNSWL lists 127.0.0.4, not 127.0.0.1: 127.0.0.1 is the
# RFC 5782 test point no list may list, and a zone that lists it is taken
# out of scoring as listing the world (ZONE HEALTH in rblmilter.conf(5)).
printf '$TTL 300\n:127.0.0.2:Listed by the test\n127.0.0.2\n' >"$dir/bl"
printf '$TTL 300\n:127.0.10.2:Trusted by the test\n127.0.0.2\n127.0.0.4\n' \
	>"$dir/wl"
printf '$TTL 300\n:127.0.1.2:Domain listed by the test\nspam.example\nmail.evil.example\ntest\n' \
	>"$dir/dbl"
chmod 644 "$dir/bl" "$dir/wl" "$dir/dbl"
rbldnsd_port=$(lib_port)
rbldnsd -n -b "127.0.0.1/$rbldnsd_port" -w "$dir" bl.test:ip4set:bl \
	wl.test:ip4set:wl dbl.test:dnset:dbl >"$dir/rbldnsd.log" 2>&1 &
lib_pids+=($!)
lib_wait_for 10 grep -q started "$dir/rbldnsd.log" || lib_die "rbldnsd did not start"
# dnsdelay with no rule: forwards at once and logs each question name.
dns_port=$(lib_port)
"$DNSDELAY" -l "127.0.0.1:$dns_port" -u "127.0.0.1:$rbldnsd_port" \
	-L "$dir/queries.log" >"$dir/dnsdelay.out" 2>&1 &
lib_pids+=($!)
lib_wait_for 10 grep -q '^port ' "$dir/dnsdelay.out" || lib_die "dnsdelay did not start"
# lib_rblmilter_conf writes these as dns_servers and dnsbl_sites.
dns_server=127.0.0.1:$dns_port
dns_zones="bl.test*3 wl.test*-5"

milter_port=$(lib_port)
policy_port=$(lib_port)
lib_rblmilter_conf "$dir/rblmilter.conf" \
	"milter_socket = inet:$milter_port@127.0.0.1
policy_socket = inet:127.0.0.1:$policy_port
rhsbl_sites = dbl.test=127.0.1.[2..99]*3
dnsbl_threshold = 3
"
lib_rblmilter "$dir/rblmilter.conf" "$milter_port"

lib_sinks
lib_postfix_conf
smtp_milter=$(lib_port)
smtp_policy=$(lib_port)
lib_postfix_rblmilter "$policy_port"
cat >>"$lib_postfix/master.cf" <<EOF
127.0.0.1:$smtp_milter inet n - n - - smtpd -o smtpd_milters=inet:127.0.0.1:$milter_port
127.0.0.1:$smtp_policy inet n - n - - smtpd -o smtpd_milters= -o smtpd_recipient_restrictions=\$rbl_policy,permit
EOF
lib_postfix_start "$smtp_milter"

# send PORT SOURCE HELO FROM RCPT: one message, transcript on stdout.
send() {
	swaks --server "127.0.0.1:$1" --local-interface "$2" --ehlo "$3" \
		--from "$4" --to "$5" --timeout 20 2>&1
}
# decision RCPT: rblmilter's decision line for the recipient.
decision() {
	grep -F "rcpt=\"<$1>\"" "$dir/rblmilter.log" | tail -n 1
}
# queries FROM: the question names dnsdelay logged after line FROM.
queries() {
	tail -n "+$(($1 + 1))" "$dir/queries.log"
}
# names_asked FROM: queries under dbl.test after line FROM, less the
# health probes.
names_asked() {
	queries "$1" | grep -iE '(^|\.)dbl\.test\.?$' |
		grep -viE '^(test|invalid)\.dbl\.test\.?$'
}
seen() {
	wc -l <"$dir/queries.log"
}
# no_names LINE: a passed decision for HELO [127.0.0.1] with no domain zone.
no_names() {
	grep -qF 'helo="[127.0.0.1]" ' <<<"$1" &&
		grep -qF ' action=pass ' <<<"$1" && ! grep -qF 'dbl.test' <<<"$1"
}
probed() {
	grep -qx 'test\.dbl\.test' "$dir/queries.log" &&
		grep -qx 'invalid\.dbl\.test' "$dir/queries.log"
}
healthy() {
	! grep -qE 'no-test-point|test point|out of scoring' "$dir/rblmilter.log"
}
ok_queued() {
	grep -q '<-  250 2.0.0 Ok: queued' <<<"$1"
}

# 1. A clean IP with a listed sender domain.
before=$(seen)
out=$(send "$smtp_milter" 127.0.0.1 client.test a@spam.example c1@local.test)
lib_check "clean IP, listed sender domain: 550 at RCPT naming the domain and the zone" \
	grep -q '<\*\* 550 5.7.1 Service unavailable; sender domain spam.example blocked using dbl.test; Domain listed by the test' <<<"$out"
lib_check "MAIL FROM was accepted (the refusal is at RCPT)" \
	grep -q '<-  250 2.1.0 Ok' <<<"$out"
line=$(decision c1@local.test)
lib_check "decision line: listed=dbl.test[sender=spam.example](127.0.1.2)" \
	grep -qF ' listed=dbl.test[sender=spam.example](127.0.1.2) ' <<<"$line"
lib_check "decision line: client=127.0.0.1 action=reject score=3" \
	grep -qE 'client=127\.0\.0\.1 .*action=reject reason=dnsbl .*score=3 ' <<<"$line"
lib_check "rblmilter asked spam.example.dbl.test (dnsdelay's query log)" \
	grep -qix 'spam\.example\.dbl\.test\.\?' <(queries "$before")

# 2. A listed HELO from a client that the DNSWL lists, and from one it
# does not.
out=$(send "$smtp_milter" 127.0.0.4 mail.spam.example a@sender.test c2a@local.test)
lib_check "listed HELO from a DNSWL'd client (3 - 5 = -2): accepted" ok_queued "$out"
lib_check "... and delivered" lib_delivered c2a@local.test "$sink_lmtp"
line=$(decision c2a@local.test)
lib_check "decision line: score=-2, wl.test and dbl.test[helo=spam.example]" \
	grep -qE 'client=127\.0\.0\.4 .*action=pass reason=pass .*score=-2 listed=wl\.test\(127\.0\.10\.2\),dbl\.test\[helo=spam\.example\]\(127\.0\.1\.2\) ' <<<"$line"
out=$(send "$smtp_milter" 127.0.0.3 mail.spam.example a@sender.test c2b@local.test)
lib_check "the same HELO from a client not in the DNSWL: 550 naming the HELO's domain" \
	grep -q '<\*\* 550 5.7.1 Service unavailable; helo name spam.example blocked using dbl.test' <<<"$out"
lib_check "decision line: client=127.0.0.3 score=3 listed=dbl.test[helo=spam.example]" \
	grep -qE 'client=127\.0\.0\.3 .*action=reject .*score=3 listed=dbl\.test\[helo=spam\.example\]\(127\.0\.1\.2\) ' <<<"$(decision c2b@local.test)"
out=$(send "$smtp_milter" 127.0.0.3 mail.evil.example a@sender.test c2c@local.test)
lib_check "a HELO listed under its full name only: 550 naming the full name" \
	grep -q '<\*\* 550 5.7.1 Service unavailable; helo name mail.evil.example blocked using dbl.test' <<<"$out"

# 3. The null sender and an address literal HELO are not looked up.
before=$(seen)
out=$(send "$smtp_milter" 127.0.0.1 '[127.0.0.1]' '<>' c3@local.test)
lib_check "null sender, HELO [127.0.0.1]: accepted" ok_queued "$out"
lib_check "... and delivered" lib_delivered c3@local.test "$sink_lmtp"
line=$(decision c3@local.test)
lib_check "decision line: helo=\"[127.0.0.1]\", action=pass, no dbl.test in it" \
	no_names "$line"
asked=$(names_asked "$before")
lib_check "no name asked under dbl.test for <> and [127.0.0.1] (queries: ${asked:-none})" \
	test -z "$asked"

# 4. The policy service: the same rules from Postfix's attributes.
out=$(send "$smtp_policy" 127.0.0.1 client.test a@spam.example p1@local.test)
lib_check "policy service: listed sender domain, 550 naming the domain and the zone" \
	grep -q '<\*\* 550 5.7.1 <p1@local.test>: Recipient address rejected: Service unavailable; sender domain spam.example blocked using dbl.test' <<<"$out"
lib_check "policy service: its decision line names dbl.test[sender=spam.example]" \
	grep -qE 'client=127\.0\.0\.1 daemon=\S* front=policy .*action=reject .*listed=dbl\.test\[sender=spam\.example\]\(127\.0\.1\.2\) ' "$dir/rblmilter.log"
out=$(send "$smtp_policy" 127.0.0.4 mail.spam.example a@sender.test p2@local.test)
lib_check "policy service: listed HELO from a DNSWL'd client accepted" \
	ok_queued "$out"

# The RFC 5782 domain test points were asked, TEST listed, INVALID not.
lib_check "health probes asked test.dbl.test and invalid.dbl.test" probed
lib_check "no zone health warning or error in rblmilter's log" healthy

lib_check "rblmilter stops cleanly on SIGTERM" lib_stopped "$milter_pid"

[ "$failed" -eq 0 ] && echo "postfix-names: all checks passed"
exit "$failed"
