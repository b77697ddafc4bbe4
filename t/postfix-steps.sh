#!/bin/bash
# Integration test: the milter conversation rblmilter negotiates
# (rblmilter(8), MILTER CONVERSATION) still decides right through a real
# Postfix.  One private Postfix on loopback ports has one smtpd listener
# per rblmilter daemon, each with its own settings; rbldnsd lists
# 127.0.0.2 in bl.test.  Shows, through real SMTP:
#  - the relay rule applies to every recipient of a message with several
#    (local, elsewhere, local: 250, 554, 250; both local ones delivered);
#  - SASL clients (a private Dovecot's auth service, as Postfix is often
#    set up) relay, listed or not: the login reaches rblmilter as
#    {auth_authen} at RCPT, since MAIL is not sent;
#  - a second and a third message on one connection are judged after the
#    first was accepted at DATA (a listed client: postmaster accepted,
#    then a recipient refused; a clean client: a relay refused);
#  - action = tag: the delivered message carries X-RBL-Check;
#  - reject_stage = connect, helo, mail: a listed client is refused, a
#    clean one delivered; relay_policy = off with reject_stage = helo
#    accepts a clean client for the whole connection;
#  - dns_failure_action = tempfail: 451 when a zone cannot answer;
#  - Postfix's verbose milter log shows the steps negotiated away, and no
#    end-of-message for a message accepted at DATA;
#  - every daemon stops cleanly.
# Dovecot, not Cyrus: Debian's Cyrus library in a private Postfix read no
# configuration from cyrus_sasl_config_path (it offered every mechanism
# and opened /etc/sasldb2).
# Needs root (Postfix's own privilege separation).  Run by "make check".
set -u
here=$(cd "$(dirname "$0")" && pwd)
RBLMILTER=${RBLMILTER:-$here/../rblmilter}
. "$here/lib.sh"

if [ "$(id -u)" -ne 0 ]; then
	echo "postfix-steps: needs root to run a private Postfix; skipped"
	exit 77
fi
lib_setup steps 22000
trap lib_cleanup EXIT
lib_need postfix smtp-sink swaks rbldnsd perl dovecot

lib_rbldnsd
lib_sinks
# A sink that keeps each delivered message, for the tag header.
dump_lmtp=$(lib_port)
mkdir -p "$dir/msgs"
chown postfix "$dir/msgs"
smtp-sink -L -u postfix -d "$dir/msgs/%M." "127.0.0.1:$dump_lmtp" 100 &
lib_pids+=($!)
lib_postfix_conf

# SASL: a private Dovecot with only its auth service, on a loopback port,
# and one user, alice, password secret.
auth_port=$(lib_port)
mkdir -p "$dir/dovecot"
echo 'alice:{PLAIN}secret' >"$dir/dovecot/users"
chmod 644 "$dir/dovecot/users"
cat >"$dir/dovecot/dovecot.conf" <<EOF
base_dir = $dir/dovecot/run
state_dir = $dir/dovecot/state
instance_name = rblsteps
log_path = $dir/dovecot.log
protocols =
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain
default_login_user = dovenull
default_internal_user = dovecot
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u $dir/dovecot/users
}
userdb {
  driver = static
  args = uid=nobody gid=nogroup home=/nonexistent
}
service auth {
  inet_listener {
    address = 127.0.0.1
    port = $auth_port
  }
}
EOF
dovecot -F -c "$dir/dovecot/dovecot.conf" >>"$dir/dovecot.log" 2>&1 &
lib_pids+=($!)
lib_wait_for 10 lib_listening "$auth_port" || lib_die "dovecot did not start"

# One daemon and one smtpd listener per NAME, with SETTINGS.
declare -A settings=(
	[rcpt]=""
	[tag]="action = tag"
	[connect]="reject_stage = connect"
	[helo]="reject_stage = helo"
	[mail]="reject_stage = mail"
	[helo-norelay]="reject_stage = helo
relay_policy = off"
	[dnsfail]="dns_failure_action = tempfail"
)
declare -A smtp pid
for name in "${!settings[@]}"; do
	port=$(lib_port)
	zones=$dns_zones
	# A zone rbldnsd does not serve (REFUSED), for dns_failure_action.
	[ "$name" = dnsfail ] && zones="$dns_zones nothere.test"
	dns_zones=$zones lib_rblmilter_conf "$dir/$name.conf" \
		"milter_socket = inet:$port@127.0.0.1
${settings[$name]}
"
	lib_rblmilter "$dir/$name.conf" "$port"
	pid[$name]=$milter_pid
	smtp[$name]=$(lib_port)
	echo "127.0.0.1:${smtp[$name]} inet n - n - - smtpd -o smtpd_milters=inet:127.0.0.1:$port" \
		>>"$lib_postfix/master.cf"
done

# In place: a parameter set twice makes every Postfix process warn (see
# lib_postfix_start).
postconf -c "$lib_postfix" -e "virtual_transport = lmtp:inet:[127.0.0.1]:$dump_lmtp"
cat >>"$lib_postfix/main.cf" <<EOF
milter_default_action = tempfail
milter_connect_timeout = 10s
milter_command_timeout = 10s
debug_peer_list = 127.0.0.3
smtpd_sasl_auth_enable = yes
smtpd_sasl_type = dovecot
smtpd_sasl_path = inet:127.0.0.1:$auth_port
EOF
lib_postfix_start "${smtp[rcpt]}"
for name in "${!smtp[@]}"; do
	lib_wait_for 10 lib_listening "${smtp[$name]}" ||
		lib_die "postfix does not listen for $name"
done

# send NAME SOURCE RCPT[,RCPT...] [SWAKS OPTION...]: one message.
send() {
	local name=$1 source=$2 to=$3
	shift 3
	swaks --server "127.0.0.1:${smtp[$name]}" --local-interface "$source" \
		--from a@sender.test --to "$to" --helo client.test \
		--timeout 20 "$@" 2>&1
}

# delivered RCPT PORT: as lib_delivered, to the sink at PORT.
delivered() {
	lib_delivered "$1" "$2"
}

# smtp_script NAME SOURCE: an SMTP session from SOURCE, the commands on
# standard input, one a line ("." ends a message's text); prints each
# command and the server's last reply line to it.
smtp_script() {
	local port=${smtp[$1]} line reply
	exec 3<>"/dev/tcp/127.0.0.1/$port" || return 1
	read -r -t 20 reply <&3 || return 1
	while IFS= read -r line; do
		printf '%s\r\n' "$line" >&3
		case $line in
		DATA | QUIT | EHLO* | MAIL* | RCPT* | .) ;;
		*) continue ;;
		esac
		while read -r -t 20 reply <&3; do
			case $reply in
			[0-9][0-9][0-9]-*) ;;
			*) break ;;
			esac
		done
		echo "$line => ${reply%$'\r'}"
	done
	exec 3>&-
}

# The session's source address is the client Postfix sees; smtp_script
# comes from 127.0.0.1 (bash cannot bind), so a listed client uses swaks.
out=$(send rcpt 127.0.0.1 one@local.test,x@elsewhere.test,two@local.test)
lib_check "several recipients: the one elsewhere is refused" \
	grep -q '<\*\* 554 5.7.1 <x@elsewhere.test>: Relay access denied' <<<"$out"
lib_check "several recipients: the message is queued for the others" \
	grep -q '<-  250 2.0.0 Ok: queued' <<<"$out"
lib_check "several recipients: the first local one is delivered" \
	delivered one@local.test "$dump_lmtp"
lib_check "several recipients: the second local one is delivered" \
	delivered two@local.test "$dump_lmtp"

out=$(smtp_script rcpt <<'EOF'
EHLO client.test
MAIL FROM:<a@sender.test>
RCPT TO:<first@local.test>
DATA
Subject: first

.
MAIL FROM:<a@sender.test>
RCPT TO:<x@elsewhere.test>
RCPT TO:<second@local.test>
DATA
Subject: second

.
QUIT
EOF
)
echo "$out"
lib_check "one connection: the first message is queued" \
	grep -q '^\. => 250 2.0.0 Ok: queued' <<<"$(sed -n 4,5p <<<"$out")"
lib_check "one connection: the second message's relay is refused" \
	grep -q 'RCPT TO:<x@elsewhere.test> => 554 5.7.1' <<<"$out"
lib_check "one connection: the second message's local recipient is taken" \
	grep -q 'RCPT TO:<second@local.test> => 250' <<<"$out"
lib_check "one connection: both messages delivered" \
	eval 'delivered first@local.test "$dump_lmtp" &&
	      delivered second@local.test "$dump_lmtp"'

# A listed client: postmaster's message accepted at DATA, then judged
# again on the same connection (swaks cannot send two messages: Perl).
out=$(perl -MNet::SMTP -e '
	my $s = Net::SMTP->new("127.0.0.1", Port => $ARGV[0],
	    LocalAddr => "127.0.0.2", Hello => "client.test", Timeout => 20)
	    or die "connect: $@";
	$s->mail("a\@sender.test");
	print "postmaster: ", $s->to("postmaster\@local.test") ? "250" : $s->code, "\n";
	$s->data("Subject: one\n\nhi\n");
	print "data: ", $s->code, "\n";
	$s->mail("a\@sender.test");
	print "second: ", $s->to("u\@local.test") ? "250" : $s->code, "\n";
	$s->quit;' "${smtp[rcpt]}" 2>&1)
echo "$out"
lib_check "listed client: postmaster's message accepted" \
	grep -qx 'data: 250' <<<"$out"
lib_check "listed client: the next message on the connection is refused" \
	grep -qx 'second: 550' <<<"$out"

out=$(send rcpt 127.0.0.1 s@elsewhere.test --auth PLAIN --auth-user alice \
	--auth-password secret)
lib_check "SASL client authenticated by Postfix" \
	grep -q 'sasl_method=PLAIN, sasl_username=alice' "$dir/maillog"
lib_check "SASL client relays" grep -q '<-  250 2.0.0 Ok: queued' <<<"$out"
lib_check "SASL client's relayed message reaches the next hop" \
	delivered s@elsewhere.test "$sink_smtp"
out=$(send rcpt 127.0.0.2 t@elsewhere.test --auth PLAIN --auth-user alice \
	--auth-password secret)
lib_check "listed SASL client relays too" \
	grep -q '<-  250 2.0.0 Ok: queued' <<<"$out"
out=$(send rcpt 127.0.0.1 n@elsewhere.test)
lib_check "the same client without SASL cannot relay" \
	grep -q '<\*\* 554 5.7.1 <n@elsewhere.test>: Relay access denied' <<<"$out"

out=$(send tag 127.0.0.2 tagged@local.test)
lib_check "action = tag: the listed client's message is queued" \
	grep -q '<-  250 2.0.0 Ok: queued' <<<"$out"
lib_check "action = tag: delivered" delivered tagged@local.test "$dump_lmtp"
lib_check "action = tag: it carries X-RBL-Check" \
	grep -rq '^X-RBL-Check: score=1 listed=bl.test(127.0.0.2)' "$dir/msgs"
out=$(send tag 127.0.0.1 untagged@local.test)
lib_check "action = tag: a clean client's message is delivered" \
	delivered untagged@local.test "$dump_lmtp"
lib_check "action = tag: without a header" \
	test "$(grep -rl 'untagged@local.test' "$dir/msgs" |
		xargs grep -l '^X-RBL-Check' | wc -l)" -eq 0

declare -A command=([connect]=CONNECT [helo]=EHLO [mail]=MAIL
	[helo-norelay]=EHLO)
for name in connect helo mail helo-norelay; do
	out=$(send "$name" 127.0.0.2 "l-$name@local.test")
	lib_check "$name: listed client refused at ${command[$name]}" \
		grep -q "NOQUEUE: milter-reject: ${command[$name]} from unknown\[127.0.0.2\]: 550 5.7.1 Service unavailable; client \[127.0.0.2\] blocked using bl.test" "$dir/maillog"
	lib_check "$name: nothing queued from it" \
		eval '! grep -q "Ok: queued" <<<"$out"'
	out=$(send "$name" 127.0.0.1 "c-$name@local.test")
	lib_check "$name: clean client delivered" \
		delivered "c-$name@local.test" "$dump_lmtp"
done
lib_check "reject_stage = helo, relay_policy = off: the clean client is accepted at HELO" \
	grep -q 'stage=helo action=pass' "$dir/rblmilter.log"
out=$(send helo-norelay 127.0.0.1 r@elsewhere.test)
lib_check "relay_policy = off: Postfix's own relay rule decides" \
	delivered r@elsewhere.test "$sink_smtp"

out=$(send dnsfail 127.0.0.1 f@local.test)
lib_check "dns_failure_action = tempfail: 451 when a zone cannot answer" \
	grep -q '<\*\* 451 4.7.1 Service temporarily unavailable; client \[127.0.0.1\] could not be checked' <<<"$out"

# Postfix's own account of the conversation (debug_peer_list).
out=$(send rcpt 127.0.0.3 v@local.test)
lib_check "verbose: the client is delivered" delivered v@local.test "$dump_lmtp"
grep -E 'milter8_[a-z]*_event|milter8_connect: events|skipping|send attr milter_name|milter8_message' \
	"$dir/maillog" | sed 's/.*postfix\/[a-z]*\[[0-9]*\]: //' >"$dir/verbose.txt"
cat "$dir/verbose.txt"
lib_check "verbose: MAIL is negotiated away, CONNECT and HELO need no reply" \
	grep -q 'milter8_connect: events SMFIP_NOMAIL .*SMFIP_NR_CONN SMFIP_NR_HELO' "$dir/verbose.txt"
lib_check "verbose: Postfix waits for no reply at CONNECT and HELO" \
	eval 'grep -q "skipping reply for event SMFIC_CONNECT" "$dir/verbose.txt" &&
	      grep -q "skipping reply for event SMFIC_HELO" "$dir/verbose.txt"'
lib_check "verbose: Postfix sends no MAIL" \
	grep -q 'skipping event SMFIC_MAIL' "$dir/verbose.txt"
lib_check "verbose: RCPT and DATA are sent" \
	eval 'grep -q "milter8_rcpt_event: .* rcpt <v@local.test>" "$dir/verbose.txt" &&
	      grep -q "milter8_data_event: .* data command" "$dir/verbose.txt"'
lib_check "verbose: accepted at DATA, cleanup gets no milter for the content" \
	eval '! grep -q "send attr milter_name\\|milter8_message" "$dir/verbose.txt"'

for name in "${!pid[@]}"; do
	lib_check "rblmilter ($name) stops cleanly" lib_stopped "${pid[$name]}"
done
exit "$failed"
