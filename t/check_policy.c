/*
 * check_policy - the policy service: the request parser on its own
 * (split anywhere, limits, hostile bytes), then the daemon's policy
 * socket against a real rbldnsd: answers, many requests per connection,
 * malformed input, a flood, and many idle connections; greylisting in
 * memory through both front ends.
 */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <libmilter/mfapi.h>

#include "policy/request.h"
#include "t/msession.h"
#include "t/tenv.h"

/* Feed text in pieces of step bytes; the status of the last piece. */
static enum request_status
feed(struct policy_request *request, const char *text, size_t step,
     const char **err)
{
	enum request_status status = REQUEST_MORE;
	size_t	len = strlen(text);
	size_t	off = 0;
	size_t	used;
	size_t	n;

	request_init(request);
	while (off < len && status == REQUEST_MORE) {
		n = len - off < step ? len - off : step;
		status = request_feed(request, text + off, n, &used, err);
		off += used;
	}
	return status;
}

START_TEST(test_parse)
{
	static const char lf[] =
		"request=smtpd_access_policy\n"
		"protocol_state=RCPT\n"
		"client_address=192.0.2.1\n"
		"client_address_x=nope\n"
		"sasl_username=\n"
		"recipient=u@example.com\n"
		"unknown_attribute=some=value\n"
		"recipient=v@example.com\n"
		"\n"
		"next=request\n";
	/* CRLF line ends: the request still ends at its empty line. */
	static const char crlf[] =
		"protocol_state=RCPT\r\n"
		"client_address=192.0.2.1\r\n"
		"sasl_username=\r\n"
		"recipient=v@example.com\r\n"
		"\r\n";
	const char *const texts[] = {lf, crlf};
	struct policy_request request;
	const char *err = NULL;
	size_t	step;
	size_t	i;

	/* Any split gives the same result. */
	for (i = 0; i < 2; i++)
	for (step = 1; step <= strlen(texts[i]) + 1; step++) {
		ck_assert_int_eq(feed(&request, texts[i], step, &err),
				 REQUEST_DONE);
		ck_assert_str_eq(request.client_address, "192.0.2.1");
		ck_assert_str_eq(request.protocol_state, "RCPT");
		ck_assert_str_eq(request.sasl_username, "");
		/* A repeated attribute: the last one counts. */
		ck_assert_str_eq(request.recipient, "v@example.com");
	}
}
END_TEST

START_TEST(test_limits)
{
	struct policy_request request;
	const char *err = NULL;
	char   *text;
	size_t	used;

	ck_assert_ptr_nonnull(text = malloc(REQUEST_MAX_SIZE + 100));
	memset(text, 'a', REQUEST_MAX_LINE + 1);
	text[REQUEST_MAX_LINE + 1] = 0;
	ck_assert_int_eq(feed(&request, text, 1000, &err), REQUEST_BAD);
	ck_assert_str_eq(err, "line longer than 4 KiB");
	/* Many short lines: the whole request is bounded too. */
	for (used = 0; used + 4 < REQUEST_MAX_SIZE + 50; used += 4)
		memcpy(text + used, "a=b\n", 4);
	text[used] = 0;
	ck_assert_int_eq(feed(&request, text, 4096, &err), REQUEST_BAD);
	ck_assert_str_eq(err, "request longer than 64 KiB");
	free(text);
	request_init(&request);
	ck_assert_int_eq(request_feed(&request, "client_address=1\0\n\n", 20,
				      &used, &err), REQUEST_BAD);
	ck_assert_str_eq(err, "NUL byte in request");
	/* Found by fuzzing: *used must be set on REQUEST_BAD too. */
	ck_assert_uint_eq(used, 16);
	/* A value longer than what is kept is cut, not an error. */
	ck_assert_ptr_nonnull(text = malloc(3000));
	strcpy(text, "client_address=");
	memset(text + 15, '1', 2000);
	strcpy(text + 2015, "\n\n");
	ck_assert_int_eq(feed(&request, text, 77, &err), REQUEST_DONE);
	ck_assert_uint_eq(strlen(request.client_address),
			  sizeof(request.client_address) - 1);
	free(text);
}
END_TEST

static const char zone4[] = "$TTL 300\n:127.0.0.2:Listed\n127.0.0.2\n";
static const char dbl[] = "$TTL 300\n:127.0.1.2:\nspam.example\ntest\n";
static const char *const datasets[] = {
	"bl.test:ip4set:zone4", "dbl.test:dnset:dbl", NULL,
};

static struct {
	char   *dir;
	pid_t	rbldnsd;
	pid_t	daemon;
	char	spec[64];		/* its milter socket */
	int	port;			/* its policy socket */
	int	dns_port;		/* rbldnsd's */
	char   *log;			/* its output */
} env;

static void
start_servers(void)
{
	char   *program = getenv("RBLMILTER");
	char   *argv[] = {program, "-f", "-c", NULL, NULL};
	char	text[512];
	char   *relay;
	int	dns_port;

	ck_assert_msg(program != NULL, "RBLMILTER is not set");
	env.dir = tenv_mkdir();
	free(tenv_write(env.dir, "zone4", zone4));
	free(tenv_write(env.dir, "dbl", dbl));
	env.rbldnsd = tenv_rbldnsd(env.dir, datasets, "bl.test", &dns_port);
	env.dns_port = dns_port;
	env.port = tenv_free_port();
	snprintf(env.spec, sizeof(env.spec), "inet:%d@127.0.0.1",
		 tenv_free_port());
	relay = tenv_write(env.dir, "relay_hosts", "127.0.0.5\n");
	snprintf(text, sizeof(text), "dns_servers = 127.0.0.1:%d\n"
		 "dnsbl_sites = bl.test\nrhsbl_sites = dbl.test\n"
		 "milter_socket = %s\n"
		 "policy_socket = inet:127.0.0.1:%d\nrelay_hosts = %s\n%s",
		 dns_port, env.spec, env.port, relay, tenv_user());
	free(relay);
	argv[3] = tenv_write(env.dir, "rblmilter.conf", text);
	ck_assert_int_ge(asprintf(&env.log, "%s/rblmilter.log", env.dir), 0);
	env.daemon = tenv_milter_start(argv, env.spec, env.log);
	free(argv[3]);
}

static void
stop_servers(void)
{
	tenv_milter_stop(env.daemon, env.spec);
	tenv_stop(env.rbldnsd);
	free(env.log);
	tenv_rmdir(env.dir);
}

START_TEST(test_answers)
{
	char	buf[4096];
	int	fd = tenv_connect(env.port);

	tenv_send(fd, "request=smtpd_access_policy\nprotocol_state=RCPT\n"
		  "client_address=127.0.0.2\nrecipient=u@here.test\n\n"
		  "protocol_state=RCPT\nclient_address=::ffff:127.0.0.1\n\n"
		  "protocol_state=RCPT\nclient_address=127.0.0.2\n"
		  "sasl_username=alice\n\n"
		  "protocol_state=RCPT\nclient_address=127.0.0.2\n"
		  "recipient=postmaster@here.test\n\n"
		  "protocol_state=MAIL\nclient_address=127.0.0.2\n\n"
		  "protocol_state=RCPT\n\n"
		  "protocol_state=RCPT\nclient_address=not-an-ip\n\n");
	tenv_answers(fd, buf, sizeof(buf), 7);
	ck_assert_str_eq(buf,
			 "action=550 5.7.1 Service unavailable; client "
			 "[127.0.0.2] blocked using bl.test\n\n"
			 "action=DUNNO\n\n"
			 "action=DUNNO\n\n"
			 "action=DUNNO\n\n"
			 "action=DUNNO\n\n"
			 "action=DUNNO\n\n"
			 "action=DUNNO\n\n");
	close(fd);
}
END_TEST

START_TEST(test_relay_question)
{
	char	buf[4096];
	int	fd = tenv_connect(env.port);

	/* From smtpd_relay_restrictions: OK only for relay hosts and SASL. */
	tenv_send(fd, "policy_context=relay\nprotocol_state=RCPT\n"
		  "client_address=127.0.0.5\nrecipient=u@elsewhere.test\n\n"
		  "policy_context=relay\nprotocol_state=RCPT\n"
		  "client_address=127.0.0.2\nrecipient=u@elsewhere.test\n\n"
		  "policy_context=relay\nprotocol_state=RCPT\n"
		  "client_address=127.0.0.2\nsasl_username=bob\n\n");
	tenv_answers(fd, buf, sizeof(buf), 3);
	ck_assert_str_eq(buf, "action=OK\n\naction=DUNNO\n\naction=OK\n\n");
	close(fd);
}
END_TEST

/* The decision line with text logged after offset, front= and times cut. */
static void
decision_line(long offset, const char *text, char *buf, size_t size)
{
	char   *front;

	ck_assert_msg(tenv_wait_line(env.log, offset, text, 5000),
		      "no line with %s", text);
	ck_assert(tenv_last_line(env.log, offset, text, buf, size));
	tenv_cut(buf, "dns_ms");
	tenv_cut(buf, "zone_ms");
	tenv_cut(buf, "ttl");
	ck_assert_ptr_nonnull(front = strstr(buf, " front="));
	memmove(front, front + strcspn(front + 1, " ") + 1,
		strlen(front + strcspn(front + 1, " ") + 1) + 1);
}

/*
 * The same facts through the milter and through the policy service give
 * the same decision line, but for front=.
 */
START_TEST(test_same_line)
{
	static const struct msession_smtp smtp = {
		.host = "[127.0.0.2]", .ip = "127.0.0.2", .port = 25,
		.helo = "same.test", .queue_id = "QSAME1",
		.from = "<a@sender.test>", .rcpt = "<u@here.test>",
		.mailer = "local",
	};
	struct msession s;
	char	buf[1024];
	char	milter[1024];
	char	policy[1024];
	long	offset;
	int	fd = tenv_connect(env.port);

	/* Warm the memory cache, so that both lines say cache=memory. */
	tenv_send(fd, "protocol_state=RCPT\nclient_address=127.0.0.2\n"
		  "helo_name=same.test\nsender=a@sender.test\n\n");
	tenv_answers(fd, buf, sizeof(buf), 1);
	offset = tenv_size(env.log);
	msession_init(&s, env.spec, 5000, &smtp);
	ck_assert_msg(msession_run(&s, MSESSION_RCPT) == 0, "%s", s.err);
	ck_assert_int_eq(s.reply.code, 'y');
	msession_close(&s);
	decision_line(offset, "front=milter", milter, sizeof(milter));
	tenv_send(fd, "protocol_state=RCPT\nclient_address=127.0.0.2\n"
		  "helo_name=same.test\nqueue_id=QSAME1\n"
		  "recipient=<u@here.test>\n\n");
	tenv_answers(fd, buf, sizeof(buf), 1);
	decision_line(offset, "front=policy", policy, sizeof(policy));
	ck_assert_str_eq(milter, policy);
	ck_assert_ptr_nonnull(strstr(milter, "queue_id=QSAME1 client=127.0.0.2 "
				     "daemon= helo=\"same.test\" stage=rcpt "
				     "action=reject reason=dnsbl "
				     "decisive=bl.test rcpt=\"<u@here.test>\" "
				     "cache=memory"));
	close(fd);
}
END_TEST

/*
 * A clean IP with a listed sender domain: rejected, naming the domain and
 * the zone, by the milter and the policy service alike; the null sender
 * and an address literal HELO are not looked up.
 */
START_TEST(test_names)
{
	static const struct msession_smtp smtp = {
		.host = "unknown", .ip = "192.0.2.1", .port = 25,
		.helo = "[192.0.2.1]", .queue_id = "QNAME1",
		.from = "<a@spam.example>", .rcpt = "<u@here.test>",
		.mailer = "local",
	};
	struct msession s;
	char	buf[1024];
	char	milter[1024];
	char	policy[1024];
	long	offset;
	int	fd = tenv_connect(env.port);

	/* Warm the cache, so that both lines say cache=memory. */
	tenv_send(fd, "protocol_state=RCPT\nclient_address=192.0.2.1\n"
		  "client_name=unknown\nhelo_name=[192.0.2.1]\n"
		  "sender=a@spam.example\nrecipient=<u@here.test>\n\n"
		  "protocol_state=RCPT\nclient_address=192.0.2.1\n"
		  "client_name=unknown\nhelo_name=[192.0.2.1]\n"
		  "sender=\nrecipient=<u@here.test>\n\n");
	tenv_answers(fd, buf, sizeof(buf), 2);
	ck_assert_str_eq(buf, "action=550 5.7.1 Service unavailable; sender "
			 "domain spam.example blocked using dbl.test\n\n"
			 "action=DUNNO\n\n");
	offset = tenv_size(env.log);
	msession_init(&s, env.spec, 5000, &smtp);
	ck_assert_msg(msession_run(&s, MSESSION_RCPT) == 0, "%s", s.err);
	ck_assert_int_eq(s.reply.code, 'y');
	ck_assert_str_eq(s.reply.text, "550 5.7.1 Service unavailable; sender "
			 "domain spam.example blocked using dbl.test");
	msession_close(&s);
	decision_line(offset, "front=milter", milter, sizeof(milter));
	tenv_send(fd, "protocol_state=RCPT\nclient_address=192.0.2.1\n"
		  "client_name=unknown\nhelo_name=[192.0.2.1]\n"
		  "sender=a@spam.example\nqueue_id=QNAME1\n"
		  "recipient=<u@here.test>\n\n");
	tenv_answers(fd, buf, sizeof(buf), 1);
	decision_line(offset, "front=policy", policy, sizeof(policy));
	ck_assert_str_eq(milter, policy);
	ck_assert_ptr_nonnull(strstr(milter, "helo=\"[192.0.2.1]\" stage=rcpt "
				     "action=reject reason=dnsbl "
				     "decisive=dbl.test rcpt=\"<u@here.test>\" cache=memory "
				     "score=1 listed=dbl.test[sender="
				     "spam.example](127.0.1.2) unknown="));
	close(fd);
}
END_TEST

/*
 * Greylisting without Redis (state in memory, answered before the check
 * returns): requests sent at once on one connection are answered in
 * order, the milter defers with the same rule, and both pass the client
 * after greylist_delay.
 */
START_TEST(test_greylist)
{
	static const struct msession_smtp smtp = {
		.host = "[127.0.0.2]", .ip = "127.0.0.2", .port = 25,
		.helo = "grey.test", .queue_id = "QGREY1",
		.from = "<a@sender.test>", .rcpt = "<v@here.test>",
		.mailer = "local",
	};
	static const char grey[] = "protocol_state=RCPT\n"
	    "client_address=127.0.0.2\nsender=a@sender.test\n"
	    "recipient=u@here.test\n\n";
	static const char deferred[] = "action=DEFER_IF_PERMIT 4.7.1 "
	    "Greylisted, try again in 1 seconds\n\n";
	struct msession s;
	char	text[512];
	char	spec[64];
	char	buf[4096];
	char   *log;
	pid_t	pid;
	int	policy = tenv_free_port();
	int	fd;

	snprintf(spec, sizeof(spec), "inet:%d@127.0.0.1",
		 tenv_free_port());
	snprintf(text, sizeof(text), "dns_servers = 127.0.0.1:%d\n"
		 "dnsbl_sites = bl.test\ndnsbl_threshold = 2\n"
		 "greylist_threshold = 1\ngreylist_delay = 1s\n"
		 "greylist_network_v4 = 32\nmilter_socket = %s\n"
		 "policy_socket = inet:127.0.0.1:%d\n%s", env.dns_port, spec,
		 policy, tenv_user());
	free(tenv_write(env.dir, "grey.conf", text));
	pid = tenv_rblmilter(env.dir, "grey", spec, 0, &log);
	fd = tenv_connect(policy);
	/* New, early, a clean client, an exempt recipient. */
	tenv_send(fd, "protocol_state=RCPT\nclient_address=127.0.0.2\n"
		  "sender=a@sender.test\nrecipient=u@here.test\n\n"
		  "protocol_state=RCPT\nclient_address=127.0.0.2\n"
		  "sender=A@Sender.test\nrecipient=<U@here.test>\n\n"
		  "protocol_state=RCPT\nclient_address=127.0.0.1\n"
		  "sender=a@sender.test\nrecipient=u@here.test\n\n"
		  "protocol_state=RCPT\nclient_address=127.0.0.2\n"
		  "sender=a@sender.test\nrecipient=postmaster@here.test\n\n");
	tenv_answers(fd, buf, sizeof(buf), 4);
	snprintf(text, sizeof(text), "%s%saction=DUNNO\n\naction=DUNNO\n\n",
		 deferred, deferred);
	ck_assert_str_eq(buf, text);
	ck_assert_int_eq(tenv_count_matches(log, "greylist=new "), 1);
	ck_assert_int_eq(tenv_count_matches(log, "greylist=early "), 1);
	ck_assert_int_eq(tenv_count_matches(log, "no redis_server, so the "
					    "greylisting state is this "
					    "host's only"), 1);
	/*
	 * A request cut after one answered at once: its first part is
	 * kept while the other is answered, and the rest completes it.
	 */
	tenv_send(fd, "protocol_state=RCPT\nclient_address=127.0.0.2\n"
		  "sender=a@sender.test\nrecipient=x@here.test\n\n"
		  "protocol_state=RCPT\nclient_address=127.0.0.2\n"
		  "sender=a@sender.test\nrecipient=y@here.test");
	tenv_answers(fd, buf, sizeof(buf), 1);
	ck_assert_str_eq(buf, deferred);
	tenv_send(fd, "\n\n");
	tenv_answers(fd, buf, sizeof(buf), 1);
	ck_assert_str_eq(buf, deferred);
	/* The milter, another recipient: a first attempt of its own. */
	msession_init(&s, spec, 5000, &smtp);
	ck_assert_msg(msession_run(&s, MSESSION_RCPT) == 0, "%s", s.err);
	ck_assert_int_eq(s.reply.code, 'y');
	ck_assert_str_eq(s.reply.text, "451 4.7.1 <v@here.test>: Recipient "
			 "address rejected: Greylisted, try again in 1 seconds");
	msession_close(&s);
	/* After the delay the policy retry passes, and so the client. */
	usleep(1100 * 1000);
	tenv_send(fd, grey);
	tenv_answers(fd, buf, sizeof(buf), 1);
	ck_assert_str_eq(buf, "action=DUNNO\n\n");
	ck_assert_int_eq(tenv_count_matches(log, "greylist=passed"), 1);
	msession_init(&s, spec, 5000, &smtp);
	ck_assert_msg(msession_run(&s, MSESSION_RCPT) == 0, "%s", s.err);
	ck_assert_int_eq(s.reply.code, 'c');
	msession_close(&s);
	ck_assert_int_eq(tenv_count_matches(log, "greylist=passed"), 2);
	close(fd);
	tenv_milter_stop(pid, spec);
	free(log);
}
END_TEST

START_TEST(test_malformed)
{
	static char many[500 * 16];
	char	buf[4096];
	char	line[5000];
	long	offset;
	int	i;
	int	fd = tenv_connect(env.port);

	/* A NUL byte: the connection is closed, nothing answered. */
	ck_assert_int_eq(write(fd, "client_address=1\0\n\n", 20), 20);
	ck_assert_uint_eq(tenv_answers(fd, buf, sizeof(buf), 1), 0);
	close(fd);
	fd = tenv_connect(env.port);
	memset(line, 'x', sizeof(line) - 1);
	line[sizeof(line) - 1] = 0;
	tenv_send(fd, line);
	ck_assert_uint_eq(tenv_answers(fd, buf, sizeof(buf), 1), 0);
	close(fd);
	/* No empty line before EOF: no answer, no harm. */
	fd = tenv_connect(env.port);
	tenv_send(fd, "protocol_state=RCPT\nclient_address=127.0.0.2\n");
	shutdown(fd, SHUT_WR);
	ck_assert_uint_eq(tenv_answers(fd, buf, sizeof(buf), 1), 0);
	close(fd);
	/* The service still answers. */
	fd = tenv_connect(env.port);
	tenv_send(fd, "protocol_state=RCPT\nclient_address=127.0.0.1\n\n");
	tenv_answers(fd, buf, sizeof(buf), 1);
	ck_assert_str_eq(buf, "action=DUNNO\n\n");
	close(fd);
	/*
	 * 500 empty requests: 500 DUNNO, and one warning a minute at most
	 * (none, when test_answers has just said it).
	 */
	offset = tenv_size(env.log);
	fd = tenv_connect(env.port);
	for (i = 0; i < 500; i++)
		tenv_send(fd, "\n");
	ck_assert_uint_eq(tenv_answers(fd, many, sizeof(many), 500),
			  500 * strlen("action=DUNNO\n\n"));
	close(fd);
	ck_assert_int_le(tenv_count_since(env.log, offset, "without a usable "
					  "client_address"), 1);
}
END_TEST

START_TEST(test_flood_and_idle)
{
	static char buf[200000];
	static const char one[] = "protocol_state=RCPT\nclient_address=127.0.0.2\n\n";
	int	idle[300];
	char   *text;
	size_t	i;
	int	fd;
	int	count = 0;
	char   *cp;

	/* 2000 requests in one write: 2000 answers, in order. */
	ck_assert_ptr_nonnull(text = malloc(sizeof(one) * 2000));
	for (i = 0; i < 2000; i++)
		memcpy(text + i * (sizeof(one) - 1), one, sizeof(one) - 1);
	text[2000 * (sizeof(one) - 1)] = 0;
	for (i = 0; i < sizeof(idle) / sizeof(idle[0]); i++)
		idle[i] = tenv_connect(env.port);
	fd = tenv_connect(env.port);
	tenv_send(fd, text);
	tenv_answers(fd, buf, sizeof(buf), 2000);
	for (cp = buf; (cp = strstr(cp, "action=550 5.7.1 ")) != NULL; cp++)
		count++;
	ck_assert_int_eq(count, 2000);
	close(fd);
	for (i = 0; i < sizeof(idle) / sizeof(idle[0]); i++)
		close(idle[i]);
	free(text);
}
END_TEST

static Suite *
policy_suite(void)
{
	Suite  *suite = suite_create("policy");
	TCase  *parser = tcase_create("parser");
	TCase  *daemon = tcase_create("daemon");

	tcase_add_test(parser, test_parse);
	tcase_add_test(parser, test_limits);
	suite_add_tcase(suite, parser);
	tcase_add_unchecked_fixture(daemon, start_servers, stop_servers);
	tcase_set_timeout(daemon, 60);
	tcase_add_test(daemon, test_answers);
	tcase_add_test(daemon, test_relay_question);
	tcase_add_test(daemon, test_same_line);
	tcase_add_test(daemon, test_names);
	tcase_add_test(daemon, test_greylist);
	tcase_add_test(daemon, test_malformed);
	tcase_add_test(daemon, test_flood_and_idle);
	suite_add_tcase(suite, daemon);
	return suite;
}

int
main(void)
{
	return tenv_run(policy_suite());
}
