/*
 * check_metrics - the Prometheus endpoint (metrics_socket) of a daemon
 * that also serves the milter and the policy service, against a real
 * rbldnsd (behind dnsdelay, which drops one zone) and Redis: the
 * numbers move as decisions are made, sessions and connections open
 * and close, the lists and the configuration change; zones are shown by
 * their shown name only; other paths are 404; and promtool (Debian's
 * prometheus package) accepts the page.  Without promtool that last
 * check is skipped, and the program exits 77 once the others passed;
 * in CI (CI=true) a missing promtool fails.
 */
#include <check.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <libmilter/mfapi.h>

#include "t/msession.h"
#include "t/tenv.h"

/* 127.0.0.2 is listed, and so are the RFC 5782 test points' 127.0.0.2. */
static const char zone4[] = "$TTL 300\n:127.0.0.2:Listed\n127.0.0.2\n";
static const char *const datasets[] = {
	"key123.bl.test:ip4set:zone4", "slow.test:ip4set:zone4", NULL,
};
static const char *const rules[] = {"slow.test=drop", NULL};

static struct {
	char   *dir;
	pid_t	rbldnsd;
	pid_t	dnsdelay;
	struct tenv_redis redis;
	pid_t	daemon;
	char	spec[64];		/* its milter socket */
	int	policy;			/* its policy socket's port */
	int	metrics;		/* its metrics socket's port */
	char   *conf;			/* its configuration */
	char	text[1024];		/* ... as written */
	char   *log;			/* its output */
} env;

/* Does promtool run here?  (Asked in main(), before the forks.) */
static bool promtool;

static void
start_servers(void)
{
	char   *program = getenv("RBLMILTER");
	char   *argv[] = {program, "-f", "-c", NULL, NULL};
	char   *relay;
	int	rbldnsd_port;
	int	dns_port;

	ck_assert_msg(program != NULL, "RBLMILTER is not set");
	env.dir = tenv_mkdir();
	free(tenv_write(env.dir, "zone4", zone4));
	env.rbldnsd = tenv_rbldnsd(env.dir, datasets, "key123.bl.test",
				   &rbldnsd_port);
	env.dnsdelay = tenv_dnsdelay(rbldnsd_port, rules, NULL, &dns_port);
	tenv_redis_start(&env.redis, env.dir, false, "");
	env.policy = tenv_free_port();
	env.metrics = tenv_free_port();
	snprintf(env.spec, sizeof(env.spec), "inet:%d@127.0.0.1",
		 tenv_free_port());
	relay = tenv_write(env.dir, "relay_hosts", "127.0.0.5\n");
	snprintf(env.text, sizeof(env.text), "dns_servers = 127.0.0.1:%d\n"
		 "dnsbl_sites = key123.bl.test, slow.test\n"
		 "dnsbl_reply_map = key123.bl.test = bl.test\n"
		 "dnsbl_timeout = 500ms\nredis_server = 127.0.0.1:%d\n"
		 "milter_socket = %s\npolicy_socket = inet:127.0.0.1:%d\n"
		 "metrics_socket = inet:127.0.0.1:%d\nrelay_hosts = %s\n%s",
		 dns_port, env.redis.port, env.spec, env.policy, env.metrics,
		 relay, tenv_user());
	free(relay);
	env.conf = tenv_write(env.dir, "rblmilter.conf", env.text);
	argv[3] = env.conf;
	ck_assert_int_ge(asprintf(&env.log, "%s/rblmilter.log", env.dir), 0);
	env.daemon = tenv_milter_start(argv, env.spec, env.log);
}

static void
stop_servers(void)
{
	tenv_milter_stop(env.daemon, env.spec);
	tenv_stop(env.redis.pid);
	tenv_stop(env.dnsdelay);
	tenv_stop(env.rbldnsd);
	free(env.conf);
	free(env.log);
	tenv_rmdir(env.dir);
}

/*
 * Send an HTTP/1.0 request for path and read the answer to its end into
 * buf; the status code, with *body at what follows the headers.
 */
static int
http_get(const char *method, const char *path, char *buf, size_t size,
	 const char **body)
{
	struct pollfd pfd = {.fd = tenv_connect(env.metrics), .events = POLLIN};
	char	request[256];
	size_t	len = 0;
	ssize_t	n;
	int	code = 0;

	snprintf(request, sizeof(request), "%s %s HTTP/1.0\r\n"
		 "Host: 127.0.0.1\r\n\r\n", method, path);
	tenv_send(pfd.fd, request);
	while (len + 1 < size) {
		ck_assert_msg(poll(&pfd, 1, 5000) == 1, "no answer to %s", path);
		if ((n = read(pfd.fd, buf + len, size - len - 1)) <= 0)
			break;
		len += (size_t) n;
	}
	close(pfd.fd);
	buf[len] = 0;
	ck_assert_msg(len + 1 < size, "the answer to %s is too long", path);
	ck_assert_msg(sscanf(buf, "HTTP/1.%*d %d", &code) == 1,
		      "no status line: %.200s", buf);
	*body = strstr(buf, "\r\n\r\n");
	*body = *body != NULL ? *body + 4 : buf + len;
	return code;
}

/* The page, with its status and content type checked. */
static const char *
scrape(char *buf, size_t size)
{
	const char *body;

	ck_assert_int_eq(http_get("GET", "/metrics", buf, size, &body), 200);
	ck_assert_msg(strstr(buf, "\r\nContent-Type: text/plain; "
			     "version=0.0.4") != NULL, "%.300s", buf);
	return body;
}

/* The value of a sample (series with its labels, as written), or -1. */
static double
value(const char *body, const char *series)
{
	size_t	len = strlen(series);
	const char *line;

	for (line = body; line != NULL && *line;
	     line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL)
		if (strncmp(line, series, len) == 0 && line[len] == ' ')
			return atof(line + len + 1);
	return -1;
}

/* A sample of a fresh page. */
static double
metric(const char *series)
{
	static char buf[65536];

	return value(scrape(buf, sizeof(buf)), series);
}

/* Scrape until series has the value wanted, 5 s at most. */
static void
wait_metric(const char *series, double wanted)
{
	double	seen = 0;
	int	i;

	for (i = 0; i < 100 && (seen = metric(series)) != wanted; i++)
		usleep(50 * 1000);
	ck_assert_msg(seen == wanted, "%s is %g, not %g", series, seen, wanted);
}

#define DECISIONS(front, action, reason) \
	"rblmilter_decisions_total{front=\"" front "\",action=\"" action \
	"\",reason=\"" reason "\"}"

/* A policy request for 127.0.0.2 at RCPT on fd: rejected. */
static void
policy_reject(int fd)
{
	char	buf[1024];

	tenv_send(fd, "protocol_state=RCPT\nclient_address=127.0.0.2\n"
		  "recipient=u@here.test\n\n");
	tenv_answers(fd, buf, sizeof(buf), 1);
	ck_assert_str_eq(buf, "action=550 5.7.1 Service unavailable; client "
			 "[127.0.0.2] blocked using bl.test\n\n");
}

/* What the daemon knows at start: its version, zones, Redis, lists. */
START_TEST(test_start)
{
	static char buf[65536];
	const char *body = scrape(buf, sizeof(buf));

	tenv_report("metrics", "page of %zu bytes at start", strlen(body));
	ck_assert(value(body, "rblmilter_build_info{version=\""
			PACKAGE_VERSION "\"}") == 1);
	ck_assert(value(body, "rblmilter_redis_up") == 1);
	ck_assert(value(body, "rblmilter_redis_command_errors_total") >= 0);
	ck_assert(value(body, "rblmilter_list_entries{list=\"relay\"}") == 1);
	ck_assert(value(body, "rblmilter_list_entries{list=\"allow\"}") == 0);
	/* The first probe: bl.test is well, slow.test never answered. */
	ck_assert(value(body, "rblmilter_zone_health{zone=\"bl.test\","
			"state=\"ok\"}") == 1);
	ck_assert(value(body, "rblmilter_zone_health{zone=\"bl.test\","
			"state=\"unknown\"}") == 0);
	ck_assert(value(body, "rblmilter_zone_health{zone=\"slow.test\","
			"state=\"unknown\"}") == 1);
	/* Every family has its help and type. */
	ck_assert_ptr_nonnull(strstr(body, "# HELP rblmilter_decisions_total "));
	ck_assert_ptr_nonnull(strstr(body, "# TYPE rblmilter_decisions_total "
				     "counter\n"));
	ck_assert_ptr_nonnull(strstr(body, "# TYPE rblmilter_zone_lookup_seconds "
				     "histogram\n"));
	/* The zone's query name is secret: shown nowhere. */
	ck_assert_ptr_null(strstr(body, "key123"));
	/* An allow entry added in Redis is seen (listsync: 2 s at most). */
	freeReplyObject(tenv_redis_cmd(&env.redis, "SADD rblmilter:allow "
				       "192.0.2.0/24"));
	wait_metric("rblmilter_list_entries{list=\"allow\"}", 1);
}
END_TEST

/*
 * Decisions of the policy service and the milter, counted by front end,
 * action and reason; the cache levels; a zone's timeout and answer
 * times; open connections and sessions; reloads, which keep the counts.
 */
START_TEST(test_counts)
{
	static const struct msession_smtp smtp = {
		.host = "[127.0.0.2]", .ip = "127.0.0.2", .port = 25,
		.helo = "client.test", .queue_id = "QMETRICS1",
		.from = "<a@sender.test>", .rcpt = "<u@here.test>",
		.mailer = "local",
	};
	struct msession s;
	long	offset;
	int	fd = tenv_connect(env.policy);

	policy_reject(fd);
	ck_assert(metric(DECISIONS("policy", "reject", "dnsbl")) == 1);
	/* The request waited for its verdict, the slow zone's deadline. */
	ck_assert(metric("rblmilter_session_wait_seconds_count{front="
			 "\"policy\"}") == 1);
	ck_assert(metric("rblmilter_session_wait_seconds_bucket{front="
			 "\"policy\",le=\"0.25\"}") == 0);
	ck_assert(metric("rblmilter_cache_lookups_total{kind=\"ip\","
			 "level=\"miss\"}") == 1);
	ck_assert(metric("rblmilter_zone_timeouts_total{zone=\"slow.test\"}")
		  == 1);
	ck_assert(metric("rblmilter_zone_timeouts_total{zone=\"bl.test\"}")
		  == 0);
	/* How each zone's query ended. */
	ck_assert(metric("rblmilter_zone_queries_total{zone=\"bl.test\","
			 "result=\"listed\"}") == 1);
	ck_assert(metric("rblmilter_zone_queries_total{zone=\"slow.test\","
			 "result=\"timeout\"}") == 1);
	ck_assert(metric("rblmilter_zone_queries_total{zone=\"bl.test\","
			 "result=\"clean\"}") == 0);
	/* bl.test listed the client, and the rejection needed it. */
	ck_assert(metric("rblmilter_zone_listings_total{zone=\"bl.test\"}")
		  == 1);
	ck_assert(metric("rblmilter_zone_decisive_total{zone=\"bl.test\"}")
		  == 1);
	ck_assert(metric("rblmilter_zone_shadow_rejections_total{zone="
			 "\"bl.test\"}") == 0);
	ck_assert(metric("rblmilter_zone_lookup_seconds_count{zone="
			 "\"bl.test\"}") == 1);
	/* The timeout counts at the deadline, 500 ms. */
	ck_assert(metric("rblmilter_zone_lookup_seconds_bucket{zone="
			 "\"slow.test\",le=\"0.25\"}") == 0);
	ck_assert(metric("rblmilter_zone_lookup_seconds_bucket{zone="
			 "\"slow.test\",le=\"1\"}") == 1);
	ck_assert(metric("rblmilter_policy_connections_open") == 1);
	/* The second from the memory cache: no new lookup, no timeout. */
	policy_reject(fd);
	ck_assert(metric(DECISIONS("policy", "reject", "dnsbl")) == 2);
	ck_assert(metric("rblmilter_cache_lookups_total{kind=\"ip\","
			 "level=\"memory\"}") == 1);
	ck_assert(metric("rblmilter_zone_timeouts_total{zone=\"slow.test\"}")
		  == 1);
	close(fd);
	wait_metric("rblmilter_policy_connections_open", 0);

	msession_init(&s, env.spec, 5000, &smtp);
	ck_assert_msg(msession_run(&s, MSESSION_HELO) == 0, "%s", s.err);
	ck_assert(metric("rblmilter_milter_sessions_open") == 1);
	ck_assert(metric("rblmilter_session_wait_seconds_count{front="
			 "\"milter\"}") == 0);
	ck_assert_msg(msession_run(&s, MSESSION_RCPT) == 0, "%s", s.err);
	ck_assert_int_eq(s.reply.code, 'y');
	ck_assert(metric(DECISIONS("milter", "reject", "dnsbl")) == 1);
	ck_assert(metric("rblmilter_session_wait_seconds_count{front="
			 "\"milter\"}") == 1);
	ck_assert(metric("rblmilter_connections_total") == 3);
	msession_close(&s);
	wait_metric("rblmilter_milter_sessions_open", 0);

	tenv_milter_reload(env.daemon, env.log);
	ck_assert(metric("rblmilter_reloads_total{result=\"ok\"}") == 1);
	offset = tenv_size(env.log);
	free(tenv_write(env.dir, "rblmilter.conf", "dnsbl_sites = \n"));
	ck_assert_int_eq(kill(env.daemon, SIGHUP), 0);
	ck_assert(tenv_wait_line(env.log, offset, "reload refused", 4000));
	free(tenv_write(env.dir, "rblmilter.conf", env.text));
	ck_assert(metric("rblmilter_reloads_total{result=\"failed\"}") == 1);
	/* The process's counts, not the generation's. */
	ck_assert(metric(DECISIONS("policy", "reject", "dnsbl")) == 2);
	ck_assert(metric("rblmilter_zone_timeouts_total{zone=\"slow.test\"}")
		  == 1);
}
END_TEST

/*
 * Failed Redis commands are the process's: they grow while Redis is
 * frozen, and a reload, which makes new Redis clients, keeps them.
 */
START_TEST(test_redis_errors)
{
	const char *series = "rblmilter_redis_command_errors_total";
	char	buf[4096];
	double	before = metric(series);
	double	frozen;
	int	fd = tenv_connect(env.policy);

	ck_assert(before >= 0);
	ck_assert_int_eq(kill(env.redis.pid, SIGSTOP), 0);
	/* New clients, not in the allow list of test_start: a GET each,
	 * unanswered within redis_timeout. */
	tenv_send(fd, "protocol_state=RCPT\nclient_address=198.51.100.61\n\n"
		  "protocol_state=RCPT\nclient_address=198.51.100.62\n\n"
		  "protocol_state=RCPT\nclient_address=198.51.100.63\n\n");
	tenv_answers(fd, buf, sizeof(buf), 3);
	close(fd);
	frozen = metric(series);
	ck_assert_int_eq(kill(env.redis.pid, SIGCONT), 0);
	tenv_report("metrics", "redis command errors: %g before, %g with Redis "
		    "frozen", before, frozen);
	ck_assert_msg(frozen >= before + 3, "%g, then %g", before, frozen);
	wait_metric("rblmilter_redis_up", 1);
	tenv_milter_reload(env.daemon, env.log);
	wait_metric("rblmilter_redis_up", 1);
	ck_assert_msg(metric(series) >= frozen, "%g after the reload, %g "
		      "before", metric(series), frozen);
}
END_TEST

/* Only /metrics; only GET. */
START_TEST(test_paths)
{
	static char buf[65536];
	const char *body;

	ck_assert_int_eq(http_get("GET", "/", buf, sizeof(buf), &body), 404);
	ck_assert_int_eq(http_get("GET", "/metrics/x", buf, sizeof(buf),
				  &body), 404);
	ck_assert_int_eq(http_get("POST", "/metrics", buf, sizeof(buf),
				  &body), 501);
	ck_assert_int_eq(http_get("GET", "/metrics?a=b", buf, sizeof(buf),
				  &body), 200);
	ck_assert_int_eq(http_get("HEAD", "/metrics", buf, sizeof(buf),
				  &body), 501);
}
END_TEST

/* promtool check metrics takes the page as it is. */
START_TEST(test_promtool)
{
	static char buf[65536];
	char	command[512];
	char   *path;
	int	status;

	if (!promtool) {
		tenv_report("metrics", "promtool is not installed: page not "
			    "checked (apt-get install prometheus)");
		return;
	}
	path = tenv_write(env.dir, "page.txt", scrape(buf, sizeof(buf)));
	snprintf(command, sizeof(command), "promtool check metrics <%s >%s.out "
		 "2>&1", path, path);
	status = system(command);
	snprintf(command, sizeof(command), "%s.out", path);
	tenv_slurp(command, buf, sizeof(buf));
	ck_assert_msg(status == 0, "promtool check metrics: %s", buf);
	tenv_report("metrics", "promtool check metrics: ok");
	free(path);
}
END_TEST

static Suite *
metrics_suite(void)
{
	Suite  *suite = suite_create("metrics");
	TCase  *daemon = tcase_create("daemon");

	tcase_add_unchecked_fixture(daemon, start_servers, stop_servers);
	tcase_set_timeout(daemon, 60);
	tcase_add_test(daemon, test_start);
	tcase_add_test(daemon, test_counts);
	tcase_add_test(daemon, test_redis_errors);
	tcase_add_test(daemon, test_paths);
	tcase_add_test(daemon, test_promtool);
	suite_add_tcase(suite, daemon);
	return suite;
}

int
main(void)
{
	const char *ci = getenv("CI");
	int	status;

	promtool = system("promtool --version >/dev/null 2>&1") == 0;
	if (!promtool && ci != NULL && strcmp(ci, "true") == 0) {
		fprintf(stderr, "FAIL: promtool is missing, and CI needs it "
			"(apt-get install prometheus)\n");
		return 1;
	}
	status = tenv_run(metrics_suite());
	return status == 0 && !promtool ? 77 : status;
}
