/*
 * check_milter - the rblmilter daemon over the milter protocol: every
 * stage, action, exemption and the relay rule, driven by t/msession
 * against a real rbldnsd, with SIGHUP reloads between the cases.
 */
#include <check.h>
#include <libmilter/mfapi.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "t/msession.h"
#include "t/tenv.h"

static const char zone4[] =
	"$TTL 300\n"
	":127.0.0.2:Listed by the test\n"
	"127.0.0.2\n";
static const char zone6[] =
	"2001:db8::2\n";
/* A dead list that answers for every address there is. */
static const char world4[] =
	"0.0.0.0/0\n";
/* A domain zone: DBL-like, with the RFC 5782 test point. */
static const char dbl[] =
	"$TTL 300\n"
	":127.0.1.2:\n"
	"spam.example\n"
	"test\n";
static const char *const datasets[] = {
	"bl.test:ip4set:zone4", "bl.test:ip6trie:zone6",
	"k3ysecret.dq.test:ip4set:zone4", "world.test:ip4trie:world4",
	"dbl.test:dnset:dbl", NULL,
};

static struct {
	char   *dir;
	pid_t	rbldnsd;
	int	dns_port;
	pid_t	milter;
	char	spec[64];		/* the milter's socket */
	char   *log;			/* the daemon's standard error */
} env;

/* Write the configuration: the common part plus extra. */
static void
configure(const char *extra)
{
	char	text[1024];

	snprintf(text, sizeof(text),
		 "dns_servers = 127.0.0.1:%d\n"
		 "dnsbl_timeout = 500ms\n"
		 "dnsbl_reply_text = yes\n"
		 "milter_socket = %s\n"
		 "%s%s%s", env.dns_port, env.spec, extra,
		 strstr(extra, "dnsbl_sites") ? "" : "dnsbl_sites = bl.test\n",
		 tenv_user());
	free(tenv_write(env.dir, "rblmilter.conf", text));
}

/* Put extra settings in force with SIGHUP; wait until the log says so. */
static void
reload(const char *extra)
{
	configure(extra);
	tenv_milter_reload(env.milter, env.log);
}

static void
start_servers(void)
{
	env.dir = tenv_mkdir();
	free(tenv_write(env.dir, "zone4", zone4));
	free(tenv_write(env.dir, "zone6", zone6));
	free(tenv_write(env.dir, "world4", world4));
	free(tenv_write(env.dir, "dbl", dbl));
	env.rbldnsd = tenv_rbldnsd(env.dir, datasets, "bl.test", &env.dns_port);
	snprintf(env.spec, sizeof(env.spec), "inet:%d@127.0.0.1",
		 tenv_free_port());
	configure("");
	env.milter = tenv_rblmilter(env.dir, "rblmilter", env.spec, 0, &env.log);
}

static void
stop_servers(void)
{
	tenv_milter_stop(env.milter, env.spec);
	tenv_stop(env.rbldnsd);
	free(env.log);
	tenv_rmdir(env.dir);
}

/* The session of every case, from a client named client.test. */
static const struct msession_smtp smtp = {
	.daemon = "mx-test", .host = "client.test", .port = 25000,
	.helo = "client.test", .queue_id = "QID42", .from = "<a@sender.test>",
};

/* Send a step; its reply code: 'c' continue, 'y' a reply text... */
static char
step(struct msession *s, enum msession_step which)
{
	ck_assert_msg(msession_step(s, which) == 0, "%s", s->err);
	return s->reply.code;
}

/* Open a session for a client at ip (NULL: a unix-socket client). */
static void
open_session(struct msession *s, const char *ip)
{
	msession_init(s, env.spec, 5000, &smtp);
	s->smtp.ip = ip;
	(void) step(s, MSESSION_OPEN);
	/* DATA is answered: never SMFIP_NODATA or SMFIP_NR_DATA. */
	ck_assert(!(s->protocol & (SMFIP_NODATA | SMFIP_NR_DATA)));
	ck_assert(s->protocol & SMFIP_NOBODY);
	/* Its reply is the case's to check. */
	(void) step(s, MSESSION_CONNECT);
}

/* MAIL FROM, authenticated as user when not NULL. */
static char
mail(struct msession *s, const char *user)
{
	s->smtp.auth = user;
	return step(s, MSESSION_MAIL);
}

/* RCPT TO rcpt, which Postfix resolved to transport mailer (or NULL). */
static char
rcpt(struct msession *s, const char *to, const char *mailer)
{
	s->smtp.rcpt = to;
	s->smtp.mailer = mailer;
	return step(s, MSESSION_RCPT);
}

/* A whole session up to the first RCPT; returns the RCPT reply. */
static char
session_rcpt(struct msession *s, const char *ip, const char *to,
	     const char *mailer)
{
	open_session(s, ip);
	ck_assert_int_eq(step(s, MSESSION_HELO), 'c');
	ck_assert_int_eq(mail(s, NULL), 'c');
	return rcpt(s, to, mailer);
}

START_TEST(test_rcpt_stage)
{
	struct msession s;

	reload("");
	ck_assert_int_eq(session_rcpt(&s, "127.0.0.2", "<u@here.test>",
				      "local"), 'y');
	ck_assert_str_eq(s.reply.text, "550 5.7.1 Service unavailable; client "
			 "[127.0.0.2] blocked using bl.test; Listed by the "
			 "test");
	/* Postmaster and abuse are always accepted. */
	ck_assert_int_eq(rcpt(&s, "<Postmaster@here.test>", "local"), 'c');
	ck_assert_int_eq(rcpt(&s, "<abuse@other.here.test>", "virtual"), 'c');
	/* Accepted at DATA: Postfix sends none of the message. */
	ck_assert_int_eq(step(&s, MSESSION_DATA), 'a');
	msession_close(&s);
	/* IPv6, and a clean client. */
	ck_assert_int_eq(session_rcpt(&s, "2001:db8::2", "<u@here.test>",
				      "lmtp"), 'y');
	msession_close(&s);
	ck_assert_int_eq(session_rcpt(&s, "127.0.0.1", "<u@here.test>",
				      "local"), 'c');
	ck_assert_int_eq(step(&s, MSESSION_DATA), 'a');
	msession_close(&s);
	ck_assert_int_ge(tenv_count_matches(env.log, "queue_id=QID42 "
					    "client=127.0.0.2 daemon=mx-test "
					    "front=milter helo=\"client.test\" "
					    "stage=rcpt action=reject "
					    "reason=dnsbl"), 1);
}
END_TEST

START_TEST(test_relay)
{
	struct msession s;
	long	offset;
	int	i;

	reload("");
	ck_assert_int_eq(session_rcpt(&s, "127.0.0.1", "<u@elsewhere.test>",
				      "smtp"), 'y');
	ck_assert_str_eq(s.reply.text, "554 5.7.1 <u@elsewhere.test>: Relay "
			 "access denied");
	/* Postmaster elsewhere is still relaying. */
	ck_assert_int_eq(rcpt(&s, "<postmaster@elsewhere.test>", "relay"), 'y');
	ck_assert_int_eq(rcpt(&s, "<u@here.test>", "local"), 'c');
	msession_close(&s);
	/*
	 * SASL-authenticated clients may relay, even when listed: nothing
	 * can refuse the rest of the message, so it is accepted.
	 */
	open_session(&s, "127.0.0.2");
	ck_assert_int_eq(mail(&s, "alice"), 'c');
	ck_assert_int_eq(rcpt(&s, "<u@elsewhere.test>", "smtp"), 'a');
	msession_close(&s);
	/*
	 * Postfix sent no {rcpt_mailer}, or an empty one: the rule cannot be
	 * decided, so it fails closed, with one warning however many
	 * sessions meet it.
	 */
	offset = tenv_size(env.log);
	for (i = 0; i < 3; i++) {
		ck_assert_int_eq(session_rcpt(&s, "127.0.0.1",
					      "<u@elsewhere.test>",
					      i == 2 ? "" : NULL), 'y');
		ck_assert_str_eq(s.reply.text, "451 4.3.5 <u@elsewhere.test>: "
				 "Relay access cannot be checked: server "
				 "configuration problem");
		msession_close(&s);
	}
	ck_assert_int_eq(tenv_count_since(env.log, offset, "reason=relay-"
					  "unchecked"), 3);
	ck_assert_int_eq(tenv_count_since(env.log, offset, "warning: Postfix "
					  "sent no {rcpt_mailer} at RCPT"), 1);
	/* SASL clients do not need it. */
	open_session(&s, "127.0.0.1");
	ck_assert_int_eq(mail(&s, "alice"), 'c');
	ck_assert_int_eq(rcpt(&s, "<u@elsewhere.test>", NULL), 'a');
	msession_close(&s);
	reload("relay_policy = off\n");
	ck_assert_int_eq(session_rcpt(&s, "127.0.0.1", "<u@elsewhere.test>",
				      "smtp"), 'a');
	msession_close(&s);
	ck_assert_int_eq(session_rcpt(&s, "127.0.0.1", "<u@elsewhere.test>",
				      NULL), 'a');
	msession_close(&s);
}
END_TEST

/* A transport name of 63 bytes, and one longer. */
#define LONG63	"lmtp-dovecot-for-the-mailboxes-of-the-virtual-domains-of-exampl"
#define LONGER	LONG63 "e-mail"

/*
 * {rcpt_mailer} is compared whole, however long: a long local transport
 * is local, and one that only begins with a local transport's name is
 * not (t/fuzz/milter/long-transport*).
 */
START_TEST(test_relay_whole)
{
	struct msession s;

	ck_assert_uint_eq(strlen(LONG63), 63);
	reload("local_transports = local " LONGER "\n");
	ck_assert_int_eq(session_rcpt(&s, "127.0.0.1", "<u@here.test>",
				      LONGER), 'c');
	ck_assert_int_eq(rcpt(&s, "<u@elsewhere.test>", LONG63), 'y');
	msession_close(&s);
	reload("local_transports = local " LONG63 "\n");
	ck_assert_int_eq(session_rcpt(&s, "127.0.0.1", "<u@here.test>",
				      LONG63), 'c');
	ck_assert_int_eq(rcpt(&s, "<u@elsewhere.test>", LONG63 "-relay"), 'y');
	ck_assert_str_eq(s.reply.text, "554 5.7.1 <u@elsewhere.test>: Relay "
			 "access denied");
	msession_close(&s);
}
END_TEST

/*
 * A reply whose %s, doubled for libmilter, would pass its 980 bytes is
 * cut, not refused by smfi_setreply() (t/fuzz/milter/percent-reply).
 */
START_TEST(test_reply_cut)
{
	struct msession s;
	char	to[600];
	long	offset;

	reload("");
	offset = tenv_size(env.log);
	snprintf(to, sizeof(to), "<%0500d@elsewhere.test>", 0);
	memset(to + 1, '%', 500);
	ck_assert_int_eq(session_rcpt(&s, "127.0.0.1", to, "smtp"), 'y');
	/* "<" and 489 %s doubled: one more would make 981 bytes. */
	ck_assert_int_eq(strncmp(s.reply.text, "554 5.7.1 <%%%%", 15), 0);
	ck_assert_uint_eq(strlen(s.reply.text), strlen("554 5.7.1 <") + 978);
	msession_close(&s);
	ck_assert_int_eq(tenv_count_since(env.log, offset, "smfi_setreply "
					  "failed"), 0);
}
END_TEST

START_TEST(test_stages)
{
	struct msession s;

	reload("reject_stage = connect\n");
	open_session(&s, "127.0.0.2");
	ck_assert_int_eq(s.reply.code, 'y');
	ck_assert_str_eq(s.reply.text, "550 5.7.1 Service unavailable; client "
			 "[127.0.0.2] blocked using bl.test; Listed by the "
			 "test");
	msession_close(&s);
	reload("reject_stage = helo\n");
	open_session(&s, "127.0.0.2");
	ck_assert_int_eq(s.reply.code, 'c');
	s.smtp.helo = "x";
	ck_assert_int_eq(step(&s, MSESSION_HELO), 'y');
	msession_close(&s);
	reload("reject_stage = mail\n");
	open_session(&s, "127.0.0.2");
	s.smtp.helo = "x";
	ck_assert_int_eq(step(&s, MSESSION_HELO), 'c');
	ck_assert_int_eq(mail(&s, NULL), 'y');
	/* A later transaction by an authenticated client goes through. */
	ck_assert_int_eq(mclient_abort(s.client), 0);
	ck_assert_int_eq(mail(&s, "alice"), 'a');
	msession_close(&s);
}
END_TEST

/*
 * Names count from the stage they are known at: the client's hostname
 * at connect, the HELO name at HELO, the sender's domain at MAIL, per
 * message; a name that comes after reject_stage has no say.
 */
/*
 * A decision line longer than 2 KB (a recipient of quotes, each escaped)
 * is logged whole, so that --report still reads it.
 */
START_TEST(test_long_line)
{
	struct msession s;
	char	to[1600] = "<";
	char	cmd[512];
	struct tenv_output out;
	size_t	i;

	reload("");
	for (i = 0; i < 700; i++)
		strcat(to, "a\"");
	strcat(to, "@here.test>");
	ck_assert_int_eq(session_rcpt(&s, "127.0.0.2", to, "local"), 'y');
	msession_close(&s);
	ck_assert_msg(tenv_wait_line(env.log, 0, "text=\"Listed by the test\"",
				     5000), "no whole line");
	snprintf(cmd, sizeof(cmd), "--report '%s'", env.log);
	tenv_command(&out, env.dir, cmd, "/dev/null");
	ck_assert_int_eq(out.status, 0);
	ck_assert_msg(strstr(out.out, "skipped (cut or garbled)            0")
		      != NULL, "%s", out.out);
}
END_TEST

START_TEST(test_name_stages)
{
	struct msession s;

	reload("rhsbl_sites = dbl.test\nreject_stage = connect\n");
	msession_init(&s, env.spec, 5000, &smtp);
	s.smtp.ip = "127.0.0.1";
	s.smtp.host = "mx.spam.example";
	ck_assert_int_eq(step(&s, MSESSION_OPEN), 'c');
	ck_assert_int_eq(step(&s, MSESSION_CONNECT), 'y');
	ck_assert_str_eq(s.reply.text, "550 5.7.1 Service unavailable; client "
			 "host name spam.example blocked using dbl.test");
	msession_close(&s);
	reload("rhsbl_sites = dbl.test\nreject_stage = helo\n");
	open_session(&s, "127.0.0.1");
	s.smtp.helo = "mail.spam.example";
	ck_assert_int_eq(step(&s, MSESSION_HELO), 'y');
	ck_assert_str_eq(s.reply.text, "550 5.7.1 Service unavailable; helo "
			 "name spam.example blocked using dbl.test");
	msession_close(&s);
	/* The sender comes after reject_stage = helo: no say. */
	open_session(&s, "127.0.0.1");
	ck_assert_int_eq(step(&s, MSESSION_HELO), 'c');
	s.smtp.from = "<b@spam.example>";
	ck_assert_int_eq(mail(&s, NULL), 'c');
	ck_assert_int_eq(rcpt(&s, "<u@here.test>", "local"), 'c');
	msession_close(&s);
	/* At RCPT, each message's sender: one listed, the next not. */
	reload("rhsbl_sites = dbl.test\n");
	open_session(&s, "127.0.0.1");
	ck_assert_int_eq(step(&s, MSESSION_HELO), 'c');
	ck_assert_int_eq(mail(&s, NULL), 'c');
	ck_assert_int_eq(rcpt(&s, "<u@here.test>", "local"), 'c');
	ck_assert_int_eq(mclient_abort(s.client), 0);
	s.smtp.from = "<b@Mail.SPAM.example.>";
	ck_assert_int_eq(mail(&s, NULL), 'c');
	ck_assert_int_eq(rcpt(&s, "<u@here.test>", "local"), 'y');
	ck_assert_str_eq(s.reply.text, "550 5.7.1 Service unavailable; sender "
			 "domain spam.example blocked using dbl.test");
	ck_assert_int_eq(mclient_abort(s.client), 0);
	s.smtp.from = "<>";
	ck_assert_int_eq(mail(&s, NULL), 'c');
	ck_assert_int_eq(rcpt(&s, "<u@here.test>", "local"), 'c');
	msession_close(&s);
	ck_assert_int_eq(tenv_count_matches(env.log, "listed=dbl.test[sender="
					    "spam.example](127.0.1.2)"), 1);
}
END_TEST

/* With settings in force, 127.0.0.2's RCPT is refused with text. */
static void
expect_refusal(const char *settings, const char *text)
{
	struct msession s;

	reload(settings);
	ck_assert_int_eq(session_rcpt(&s, "127.0.0.2", "<u@here.test>",
				      "local"), 'y');
	ck_assert_str_eq(s.reply.text, text);
	msession_close(&s);
}

/*
 * With settings in force, 127.0.0.2's message gets headers at its end;
 * with none, it is accepted at DATA and Postfix sends no end.
 */
static void
expect_headers(const char *settings, const char *headers)
{
	struct msession s;

	reload(settings);
	ck_assert_int_eq(session_rcpt(&s, "127.0.0.2", "<u@here.test>",
				      "local"), 'c');
	if (*headers == 0) {
		ck_assert_int_eq(step(&s, MSESSION_DATA), 'a');
		msession_close(&s);
		return;
	}
	ck_assert_int_eq(step(&s, MSESSION_DATA), 'c');
	ck_assert_int_eq(step(&s, MSESSION_EOM), 'c');
	ck_assert_str_eq(s.reply.headers, headers);
	msession_close(&s);
}

START_TEST(test_actions)
{
	expect_refusal("action = tempfail\n", "451 4.7.1 Service unavailable; "
		       "client [127.0.0.2] blocked using bl.test; Listed by "
		       "the test");
	expect_headers("action = tag\n", "X-RBL-Check: score=1 "
		       "listed=bl.test(127.0.0.2)\n");
	expect_headers("action = log\n", "");
	ck_assert_int_ge(tenv_count_matches(env.log, "client=127.0.0.2 "
					    "daemon=mx-test front=milter "
					    "helo=\"client.test\" stage=rcpt "
					    "action=log reason=dnsbl"), 1);
	expect_refusal("reject_text = Go away [$client] ($zone, score $score)\n",
		       "550 5.7.1 Go away [127.0.0.2] (bl.test, score 1); "
		       "Listed by the test");
}
END_TEST

/* A zone whose name holds a key is shown by its dnsbl_reply_map name. */
START_TEST(test_reply_map)
{
	expect_refusal("dnsbl_sites = k3ysecret.dq.test\n"
		       "dnsbl_reply_map = k3ysecret.dq.test = zen.test\n",
		       "550 5.7.1 Service unavailable; client [127.0.0.2] "
		       "blocked using zen.test; Listed by the test");
	expect_headers("dnsbl_sites = k3ysecret.dq.test\n"
		       "dnsbl_reply_map = k3ysecret.dq.test=zen.test\n"
		       "action = tag\n", "X-RBL-Check: score=1 "
		       "listed=zen.test(127.0.0.2)\n");
	/* Both sessions were logged, naming the zone by its shown name. */
	ck_assert_int_eq(tenv_count_matches(env.log, "listed=zen.test("), 2);
	ck_assert_msg(tenv_count_matches(env.log, "k3ysecret") == 0,
		      "the key is in the log:\n%s", tenv_tail(env.log, 800));
	reload("");
}
END_TEST

START_TEST(test_lists_and_failures)
{
	char	extra[512];
	char   *deny = tenv_write(env.dir, "deny_hosts", "192.0.2.66\n");
	struct msession s;

	snprintf(extra, sizeof(extra), "deny_hosts = %s\n", deny);
	reload(extra);
	ck_assert_int_eq(session_rcpt(&s, "192.0.2.66", "<u@here.test>",
				      "local"), 'y');
	ck_assert_str_eq(s.reply.text, "550 5.7.1 Service unavailable; client "
			 "[192.0.2.66] blocked by local policy");
	msession_close(&s);
	/* A zone that cannot answer, and dns_failure_action = tempfail. */
	reload("dnsbl_sites = bl.test, nothere.test\n"
	       "dns_failure_action = tempfail\n");
	ck_assert_int_eq(session_rcpt(&s, "127.0.0.9", "<u@here.test>",
				      "local"), 'y');
	ck_assert_str_eq(s.reply.text, "451 4.7.1 Service temporarily "
			 "unavailable; client [127.0.0.9] could not be checked");
	msession_close(&s);
	free(deny);
}
END_TEST

START_TEST(test_zone_health)
{
	struct msession s;

	/* The reload puts it in force once the zones have been probed. */
	reload("dnsbl_sites = bl.test, world.test*5\n"
	       "dnsbl_health_interval = 1s\n");
	ck_assert_int_ge(tenv_count_matches(env.log, "error: dnsbl zone "
					    "world.test lists 127.0.0.1"), 1);
	/* The zone that lists the world no longer rejects anyone... */
	ck_assert_int_eq(session_rcpt(&s, "192.0.2.99", "<u@here.test>",
				      "local"), 'c');
	msession_close(&s);
	/* ... while a listing of the healthy one still does. */
	ck_assert_int_eq(session_rcpt(&s, "127.0.0.2", "<u@here.test>",
				      "local"), 'y');
	ck_assert_ptr_nonnull(strstr(s.reply.text, " using bl.test;"));
	msession_close(&s);
	ck_assert_int_eq(tenv_count_matches(env.log, "client=192.0.2.99 "), 1);
	ck_assert_int_eq(tenv_count_matches(env.log, "listed=world.test"), 0);
	reload("");
}
END_TEST

/*
 * The conversation asked for (rblmilter(8), MILTER CONVERSATION): steps
 * before reject_stage without an answer, MAIL's facts as macros at RCPT,
 * accept where nothing can change the answer; each session keeps the
 * conversation it was negotiated with across a reload.
 */
START_TEST(test_conversation)
{
	char	extra[512];
	char   *relay = tenv_write(env.dir, "relay_hosts", "127.0.0.1\n");
	struct msession s;

	reload("");
	open_session(&s, "127.0.0.1");
	ck_assert_uint_eq(s.protocol & (SMFIP_NR_CONN | SMFIP_NR_HELO
					| SMFIP_NOMAIL | SMFIP_NORCPT
					| SMFIP_NR_RCPT),
			  SMFIP_NR_CONN | SMFIP_NR_HELO | SMFIP_NOMAIL);
	ck_assert(!(s.actions & SMFIF_ADDHDRS));
	ck_assert_str_eq(mclient_macro_list(s.client, SMFIM_ENVRCPT),
			 "i {rcpt_mailer} {auth_authen} {mail_addr}");
	/* A message accepted at DATA; the next one is judged all the same. */
	ck_assert_int_eq(step(&s, MSESSION_HELO), 'c');
	ck_assert_int_eq(rcpt(&s, "<u@here.test>", "local"), 'c');
	ck_assert_int_eq(step(&s, MSESSION_DATA), 'a');
	ck_assert_int_eq(mclient_abort(s.client), 0);
	ck_assert_int_eq(rcpt(&s, "<u@elsewhere.test>", "smtp"), 'y');
	ck_assert_int_eq(mclient_abort(s.client), 0);
	s.smtp.auth = "alice";
	ck_assert_int_eq(rcpt(&s, "<u@elsewhere.test>", "smtp"), 'a');
	msession_close(&s);
	reload("reject_stage = mail\n");
	open_session(&s, "127.0.0.1");
	ck_assert_uint_eq(s.protocol & (SMFIP_NR_CONN | SMFIP_NR_HELO
					| SMFIP_NOMAIL | SMFIP_NR_MAIL),
			  SMFIP_NR_CONN | SMFIP_NR_HELO);
	msession_close(&s);
	/* Relaying not checked: accepted once reject_stage has passed. */
	reload("reject_stage = helo\nrelay_policy = off\n");
	open_session(&s, "127.0.0.1");
	ck_assert_uint_eq(s.protocol & (SMFIP_NR_CONN | SMFIP_NR_HELO
					| SMFIP_NOMAIL | SMFIP_NORCPT),
			  SMFIP_NR_CONN | SMFIP_NOMAIL | SMFIP_NORCPT);
	ck_assert_int_eq(step(&s, MSESSION_HELO), 'a');
	msession_close(&s);
	open_session(&s, "127.0.0.2");
	ck_assert_int_eq(step(&s, MSESSION_HELO), 'y');
	msession_close(&s);
	reload("action = tag\n");
	open_session(&s, "127.0.0.1");
	ck_assert(s.actions & SMFIF_ADDHDRS);
	msession_close(&s);
	/* A client that may relay: accepted at reject_stage. */
	snprintf(extra, sizeof(extra), "relay_hosts = %s\n"
		 "reject_stage = connect\n", relay);
	reload(extra);
	open_session(&s, "127.0.0.1");
	ck_assert_int_eq(s.reply.code, 'a');
	msession_close(&s);
	snprintf(extra, sizeof(extra), "relay_hosts = %s\n", relay);
	reload(extra);
	ck_assert_int_eq(session_rcpt(&s, "127.0.0.1", "<u@elsewhere.test>",
				      "smtp"), 'a');
	msession_close(&s);
	/* Negotiated before a reload, a session keeps its conversation. */
	reload("");
	msession_init(&s, env.spec, 5000, &smtp);
	s.smtp.ip = "127.0.0.2";
	ck_assert_int_eq(step(&s, MSESSION_OPEN), 'c');
	reload("reject_stage = connect\n");
	ck_assert_int_eq(step(&s, MSESSION_CONNECT), 'c');
	ck_assert_int_eq(step(&s, MSESSION_HELO), 'c');
	ck_assert_int_eq(rcpt(&s, "<u@here.test>", "local"), 'y');
	msession_close(&s);
	free(relay);
	reload("");
}
END_TEST

START_TEST(test_odd_clients)
{
	struct msession s;
	int	i;

	reload("");
	/*
	 * A client without an IP address is accepted unchecked: at the
	 * first step that gets an answer.
	 */
	open_session(&s, NULL);
	ck_assert_int_eq(s.reply.code, 'c');
	ck_assert_int_eq(step(&s, MSESSION_HELO), 'c');
	ck_assert_int_eq(rcpt(&s, "<u@elsewhere.test>", "smtp"), 'a');
	msession_close(&s);
	reload("reject_stage = connect\n");
	open_session(&s, NULL);
	ck_assert_int_eq(s.reply.code, 'a');
	msession_close(&s);
	reload("");
	/* Clients that vanish mid-session leave the daemon serving. */
	for (i = 0; i < 20; i++) {
		open_session(&s, "127.0.0.2");
		if (i % 2)
			ck_assert_int_eq(mail(&s, NULL), 'c');
		msession_close(&s);
	}
	ck_assert_int_eq(session_rcpt(&s, "127.0.0.2", "<u@here.test>",
				      "local"), 'y');
	msession_close(&s);
}
END_TEST

static Suite *
milter_suite(void)
{
	Suite  *suite = suite_create("milter");
	TCase  *tc = tcase_create("milter");

	tcase_add_unchecked_fixture(tc, start_servers, stop_servers);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_rcpt_stage);
	tcase_add_test(tc, test_relay);
	tcase_add_test(tc, test_relay_whole);
	tcase_add_test(tc, test_reply_cut);
	tcase_add_test(tc, test_stages);
	tcase_add_test(tc, test_actions);
	tcase_add_test(tc, test_reply_map);
	tcase_add_test(tc, test_lists_and_failures);
	tcase_add_test(tc, test_zone_health);
	tcase_add_test(tc, test_odd_clients);
	tcase_add_test(tc, test_conversation);
	tcase_add_test(tc, test_name_stages);
	tcase_add_test(tc, test_long_line);
	suite_add_tcase(suite, tc);
	return suite;
}

int
main(void)
{
	return tenv_run(milter_suite());
}
