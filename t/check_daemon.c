/*
 * check_daemon - the rblmilter daemon's life as an operator sees it: a
 * stop while Postfix has sessions open, idle or waiting for DNS.
 *
 * Each test starts its own daemon (milter socket on a loopback port,
 * Redis for the counters, t/dnsfault for a zone that never
 * answers) and prints what it measured, "daemon: ...", to the test log.
 * The bounds asserted are there to catch a hang, not to time anything:
 * the daemon's own bound is about 2 s, the test allows 6.
 *
 * Debian's libmilter hands sessions to a pool of threads; while every
 * one of them waits in a callback (50 sessions waiting for DNS), it can
 * take many seconds to take up another connection.  A session it has
 * not taken up when the stop comes is not mid-lookup: the test names it
 * and judges only the others.
 *
 * What it does not: the fault matrix under load (check_faults), or what
 * sessions decide (check_milter).
 */
#include <check.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "t/mclient.h"
#include "t/tenv.h"

/* What a stop may take here before the test calls it a hang. */
#define STOP_LIMIT_MS	6000

/* Sessions waiting for DNS when the stop comes. */
#define WAITING_SESSIONS	50

static struct {
	char   *dir;
	struct tenv_redis redis;
	pid_t	dnsfault;
	int	dns_port;
	char   *queries;		/* dnsfault's query log */
} env;

/* One "daemon: ..." line for the test log. */
static void report(const char *,...) __attribute__((format(printf, 1, 2)));

static void
report(const char *fmt,...)
{
	va_list	ap;

	printf("daemon: ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

static unsigned
elapsed_ms(const struct timespec *since)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (unsigned) ((now.tv_sec - since->tv_sec) * 1000
			   + (now.tv_nsec - since->tv_nsec) / 1000000);
}

static void
start_servers(void)
{
	static const char *const zones[] = {"silent.test=silent", NULL};

	env.dir = tenv_mkdir();
	tenv_redis_start(&env.redis, env.dir, false, "");
	ck_assert_int_ge(asprintf(&env.queries, "%s/queries.log", env.dir), 0);
	env.dnsfault = tenv_dnsfault(zones, env.queries, &env.dns_port);
}

static void
stop_servers(void)
{
	tenv_stop(env.dnsfault);
	tenv_stop(env.redis.pid);
	free(env.queries);
	tenv_rmdir(env.dir);
}

/*
 * Start a daemon named name on a loopback port, asking the silent zone
 * with a long deadline; spec gets its socket.
 */
static pid_t
start_daemon(const char *name, const char *extra, char *spec, size_t size,
	     char **log)
{
	char	text[2048];
	char	conf[64];

	snprintf(spec, size, "inet:%d@127.0.0.1", tenv_free_port(SOCK_STREAM));
	snprintf(text, sizeof(text),
		 "milter_socket = %s\n"
		 "dns_servers = 127.0.0.1:%d\n"
		 "dnsbl_sites = silent.test\n"
		 "dnsbl_timeout = 40s\n"
		 "dnsbl_health_interval = 0\n"
		 "redis_server = 127.0.0.1:%d\n"
		 "redis_prefix = %s:\n"
		 "%s%s", spec, env.dns_port, env.redis.port, name, extra,
		 tenv_user());
	snprintf(conf, sizeof(conf), "%s.conf", name);
	free(tenv_write(env.dir, conf, text));
	return tenv_rblmilter(env.dir, name, spec, 0, log);
}

/* SIGTERM the daemon and wait for it; its exit status, ms in *ms. */
static int
stop_daemon(pid_t pid, unsigned *ms)
{
	struct timespec start;
	pid_t	done;
	int	status = -1;

	clock_gettime(CLOCK_MONOTONIC, &start);
	ck_assert_int_eq(kill(pid, SIGTERM), 0);
	while ((done = waitpid(pid, &status, WNOHANG)) == 0
	       && elapsed_ms(&start) < STOP_LIMIT_MS)
		usleep(10000);
	*ms = elapsed_ms(&start);
	if (done == 0) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		ck_abort_msg("the daemon did not stop within %u ms",
			     STOP_LIMIT_MS);
	}
	return status;
}

/* A session that has connected and negotiated, at connect. */
static struct mclient *
open_session(const char *spec, const char *ip, struct mreply *reply)
{
	unsigned long actions;
	unsigned long protocol;
	struct mclient *client;
	char	err[256];

	client = mclient_open(spec, 15000, err, sizeof(err));
	ck_assert_msg(client != NULL, "%s", err);
	ck_assert_int_eq(mclient_negotiate(client, &actions, &protocol), 0);
	ck_assert_int_eq(mclient_connect(client, "[client]", ip, 25, reply), 0);
	return client;
}

/* A counter of the daemon's redis_prefix stats hash, or -1. */
static long
counter(const char *name, const char *field)
{
	redisReply *reply;
	long	value = -1;

	reply = tenv_redis_cmd(&env.redis, "HGET %s:stats %s", name, field);
	if (reply->type == REDIS_REPLY_STRING)
		value = atol(reply->str);
	freeReplyObject(reply);
	return value;
}

START_TEST(test_stop_with_idle_sessions)
{
	struct mclient *client[5];
	struct mreply reply;
	char	spec[256];
	char	ip[32];
	char   *log;
	unsigned ms;
	pid_t	pid;
	int	status;
	size_t	i;

	pid = start_daemon("idle", "", spec, sizeof(spec), &log);
	for (i = 0; i < 5; i++) {
		snprintf(ip, sizeof(ip), "192.0.2.%zu", i + 1);
		client[i] = open_session(spec, ip, &reply);
		ck_assert_int_eq(reply.code, 'c');
	}
	status = stop_daemon(pid, &ms);
	report("stop with 5 idle sessions open: %u ms, exit status 0x%x", ms,
	       status);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "exit status 0x%x", status);
	ck_assert_msg(tenv_count_matches(log, "stopped") == 1, "%s",
		      tenv_tail(log, 1000));
	/* The counters of those sessions reached Redis before the exit. */
	ck_assert_int_eq(counter("idle", "connections"), 5);
	for (i = 0; i < 5; i++)
		mclient_close(client[i]);
	free(log);
}
END_TEST

/* One session that waits at connect for a verdict that never comes. */
struct waiting {
	const char *spec;
	char	ip[32];
	struct mclient *client;
	struct mreply reply;
	unsigned ms;			/* until its answer */
	char	err[256];		/* why there is none */
};

static void *
waiting_session(void *arg)
{
	struct waiting *w = arg;
	unsigned long actions;
	unsigned long protocol;
	struct timespec start;

	if ((w->client = mclient_open(w->spec, 15000, w->err,
				      sizeof(w->err))) == NULL)
		return NULL;
	clock_gettime(CLOCK_MONOTONIC, &start);
	if (mclient_negotiate(w->client, &actions, &protocol) < 0
	    || mclient_connect(w->client, "[client]", w->ip, 25, &w->reply) < 0)
		snprintf(w->err, sizeof(w->err), "%s",
			 mclient_error(w->client));
	w->ms = elapsed_ms(&start);
	return NULL;
}

/* Was the silent zone asked about the client of waiting session i? */
static bool
asked(size_t i)
{
	char	name[64];

	snprintf(name, sizeof(name), " %zu.100.51.198.silent.test", i + 1);
	return tenv_count_matches(env.queries, name) > 0;
}

/* How many of the waiting sessions' lookups are out. */
static unsigned
asked_count(void)
{
	unsigned count = 0;
	size_t	i;

	for (i = 0; i < WAITING_SESSIONS; i++)
		count += asked(i);
	return count;
}

START_TEST(test_stop_with_sessions_mid_lookup)
{
	static struct waiting w[WAITING_SESSIONS];
	pthread_t thread[WAITING_SESSIONS];
	redisReply *reply;
	char	spec[256];
	char   *log;
	unsigned ms;
	unsigned slowest = 0;
	unsigned tempfails = 0;
	unsigned out;
	pid_t	pid;
	int	status;
	int	tries;
	size_t	i;

	pid = start_daemon("waiting", "reject_stage = connect\n"
			   "dns_failure_action = tempfail\n", spec,
			   sizeof(spec), &log);
	for (i = 0; i < WAITING_SESSIONS; i++) {
		w[i].spec = spec;
		snprintf(w[i].ip, sizeof(w[i].ip), "198.51.100.%zu", i + 1);
		ck_assert_int_eq(pthread_create(&thread[i], NULL,
						waiting_session, &w[i]), 0);
	}
	/*
	 * Stop once every lookup is out.  On a loaded machine libmilter can
	 * take many seconds to take up a burst of 50 connections; those it
	 * has not taken up by then are not mid-lookup, and the test speaks
	 * only of those that are.
	 */
	for (tries = 0; tries < 800 && asked_count() < WAITING_SESSIONS;
	     tries++)
		usleep(10000);
	out = asked_count();
	status = stop_daemon(pid, &ms);
	for (i = 0; i < WAITING_SESSIONS; i++) {
		pthread_join(thread[i], NULL);
		if (w[i].reply.code == 'y'
		    && strncmp(w[i].reply.text, "451 ", 4) == 0)
			tempfails++;
		else if (asked(i))
			ck_abort_msg("session %zu, mid-lookup: no 451 (%s)", i,
				     w[i].err);
		else
			report("session %zu: not taken up by libmilter before "
			       "the stop (%s)", i, w[i].err);
		if (w[i].ms > slowest)
			slowest = w[i].ms;
		mclient_close(w[i].client);
	}
	report("stop with %u of %d sessions waiting for a silent zone "
	       "(dnsbl_timeout 40 s): %u ms, %u answered 451, slowest answer "
	       "%u ms, exit status 0x%x", out, WAITING_SESSIONS, ms, tempfails,
	       slowest, status);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "exit status 0x%x", status);
	ck_assert_uint_ge(out, WAITING_SESSIONS / 2);
	/* Each was answered as dns_failure_action says, long before 40 s. */
	ck_assert_uint_eq(tenv_count_matches(log, "unknown=silent.test(stopped)"),
			  out);
	ck_assert_int_ge(counter("waiting", "connections"), out);
	/* What the stop cut short is not cached for the fleet. */
	reply = tenv_redis_cmd(&env.redis, "KEYS waiting:v:*");
	ck_assert_int_eq(reply->type, REDIS_REPLY_ARRAY);
	ck_assert_int_eq(reply->elements, 0);
	freeReplyObject(reply);
	free(log);
}
END_TEST

static Suite *
daemon_suite(void)
{
	Suite  *suite = suite_create("daemon");
	TCase  *tc = tcase_create("daemon");

	tcase_add_unchecked_fixture(tc, start_servers, stop_servers);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_stop_with_idle_sessions);
	tcase_add_test(tc, test_stop_with_sessions_mid_lookup);
	suite_add_tcase(suite, tc);
	return suite;
}

int
main(void)
{
	return tenv_run(daemon_suite());
}
