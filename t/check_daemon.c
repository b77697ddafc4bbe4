/*
 * check_daemon - the rblmilter daemon's life as an operator sees it: a
 * stop while Postfix has sessions open, idle or waiting for DNS, a
 * SIGHUP that comes while the main thread cannot take it, and TCP_NODELAY
 * on the milter's connections.
 *
 * Each test starts its own daemon (milter socket on a loopback port,
 * Redis for the counters, t/dnsfault for a zone that never
 * answers) and prints what it measured, "daemon: ...", to the test log.
 * The bounds asserted are there to catch a hang, not to time anything:
 * the daemon's own bound is about 2 s, the test allows 10 on a machine
 * that runs two test suites at once.
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
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <grp.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pwd.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "t/msession.h"
#include "t/tenv.h"

/* One "daemon: ..." line of what a test measured, for the test log. */
#define report(...)	tenv_report("daemon", __VA_ARGS__)

/* What a stop may take here, two test suites at once, before it is a hang. */
#define STOP_LIMIT_MS	10000

/* Sessions waiting for DNS when the stop comes. */
#define WAITING_SESSIONS	50

static struct {
	char   *dir;
	struct tenv_redis redis;
	pid_t	dnsfault;
	int	dns_port;
	char   *queries;		/* dnsfault's query log */
} env;

static void
start_servers(void)
{
	static const char *const zones[] = {"silent.test=silent", "ok.test=ok",
	NULL};

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

/* Write dir/NAME.conf: a daemon on spec that asks zone. */
static void
write_conf(const char *name, const char *spec, const char *zone,
	   const char *extra)
{
	char	text[2048];
	char	conf[64];

	snprintf(text, sizeof(text),
		 "milter_socket = %s\n"
		 "dns_servers = 127.0.0.1:%d\n"
		 "dnsbl_sites = %s\n"
		 "dnsbl_timeout = 40s\n"
		 "dnsbl_health_interval = 0\n"
		 "redis_server = 127.0.0.1:%d\n"
		 "redis_prefix = %s:\n"
		 "%s%s", spec, env.dns_port, zone, env.redis.port, name, extra,
		 tenv_user());
	snprintf(conf, sizeof(conf), "%s.conf", name);
	free(tenv_write(env.dir, conf, text));
}

/* Start a daemon named name on a loopback port; spec gets its socket. */
static pid_t
start_daemon(const char *name, const char *zone, const char *extra,
	     char *spec, size_t size, char **log)
{
	snprintf(spec, size, "inet:%d@127.0.0.1", tenv_free_port());
	write_conf(name, spec, zone, extra);
	return tenv_rblmilter(env.dir, name, spec, 0, log);
}

/*
 * A new directory of the daemon's user (nobody, as root), as the pid
 * file's and the sockets' directories are in a real deployment: the
 * user can plant anything there.  Returns its malloc'd path.
 */
static char *
user_dir(const char *name)
{
	struct passwd *pw;
	char   *path;

	ck_assert_int_ge(asprintf(&path, "%s/%s", env.dir, name), 0);
	ck_assert_int_eq(mkdir(path, 0755), 0);
	if (geteuid() == 0) {
		ck_assert_ptr_nonnull(pw = getpwnam("nobody"));
		ck_assert_int_eq(chown(path, pw->pw_uid, pw->pw_gid), 0);
	}
	return path;
}

/* SIGTERM the daemon (log: its output) and wait; exit status, ms in *ms. */
static int
stop_daemon(pid_t pid, const char *log, unsigned *ms)
{
	struct timespec start;
	pid_t	done;
	int	status = -1;

	clock_gettime(CLOCK_MONOTONIC, &start);
	ck_assert_int_eq(kill(pid, SIGTERM), 0);
	while ((done = waitpid(pid, &status, WNOHANG)) == 0
	       && tenv_elapsed_ms(&start) < STOP_LIMIT_MS)
		usleep(10000);
	*ms = tenv_elapsed_ms(&start);
	if (done == 0) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		ck_abort_msg("the daemon did not stop within %u ms: %s",
			     STOP_LIMIT_MS, tenv_tail(log, 600));
	}
	return status;
}

/* Open s to spec for a client at ip and send CONNECT: what it answered. */
static int
open_session(struct msession *s, const char *spec, const char *ip)
{
	msession_init(s, spec, 15000, &(struct msession_smtp) {
		.host = "[client]", .ip = ip, .port = 25,
	});
	ck_assert_msg(msession_run(s, MSESSION_CONNECT) == 0, "%s", s->err);
	return s->reply.code;
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
	struct msession s[5];
	char	spec[256];
	char	ip[5][32];
	char   *log;
	unsigned ms;
	pid_t	pid;
	int	status;
	size_t	i;

	/*
	 * CONNECT answered: with no reply, as Postfix's, it stays in the
	 * client's buffer until a step that waits for one.
	 */
	pid = start_daemon("idle", "ok.test", "reject_stage = connect\n", spec,
			   sizeof(spec), &log);
	for (i = 0; i < 5; i++) {
		snprintf(ip[i], sizeof(ip[i]), "192.0.2.%zu", i + 1);
		ck_assert_int_eq(open_session(s + i, spec, ip[i]), 'c');
	}
	status = stop_daemon(pid, log, &ms);
	report("stop with 5 idle sessions open: %u ms, exit status 0x%x", ms,
	       status);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "exit status 0x%x", status);
	ck_assert_msg(tenv_count_matches(log, "stopped") == 1, "%s",
		      tenv_tail(log, 1000));
	/* The counters of those sessions reached Redis before the exit. */
	ck_assert_int_eq(counter("idle", "connections"), 5);
	for (i = 0; i < 5; i++)
		msession_close(s + i);
	free(log);
}
END_TEST

/* One session that waits at connect for a verdict that never comes. */
struct waiting {
	const char *spec;
	char	ip[32];
	struct msession s;		/* s.reply: its answer; s.err: why
					 * there is none */
	unsigned ms;			/* until its answer */
};

static void *
waiting_session(void *arg)
{
	struct waiting *w = arg;
	struct timespec start;

	msession_init(&w->s, w->spec, 15000, &(struct msession_smtp) {
		.host = "[client]", .ip = w->ip, .port = 25,
	});
	clock_gettime(CLOCK_MONOTONIC, &start);
	(void) msession_run(&w->s, MSESSION_CONNECT);
	w->ms = tenv_elapsed_ms(&start);
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

	pid = start_daemon("waiting", "silent.test", "reject_stage = connect\n"
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
	status = stop_daemon(pid, log, &ms);
	for (i = 0; i < WAITING_SESSIONS; i++) {
		pthread_join(thread[i], NULL);
		if (w[i].s.reply.code == 'y'
		    && strncmp(w[i].s.reply.text, "451 ", 4) == 0)
			tempfails++;
		else if (asked(i))
			ck_abort_msg("session %zu, mid-lookup: no 451 (%s)", i,
				     w[i].s.err);
		else
			report("session %zu: not taken up by libmilter before "
			       "the stop (%s)", i, w[i].s.err);
		if (w[i].ms > slowest)
			slowest = w[i].ms;
		msession_close(&w[i].s);
	}
	report("stop with %u of %d sessions waiting for a silent zone "
	       "(dnsbl_timeout 40 s): %u ms, %u answered 451, slowest answer "
	       "%u ms, exit status 0x%x", out, WAITING_SESSIONS, ms, tempfails,
	       slowest, status);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "exit status 0x%x", status);
	/*
	 * How many libmilter took up depends on the machine's load (19 of
	 * 50 once, with two suites running); at least one must be waiting.
	 */
	ck_assert_uint_ge(out, 1);
	/*
	 * Each was answered as dns_failure_action says, long before 40 s,
	 * with a stopped lookup: those seen mid-lookup, and any whose query
	 * was on its way when the stop came.
	 */
	ck_assert_uint_ge(tempfails, out);
	ck_assert_uint_eq(tenv_count_matches(log, "unknown=silent.test"
					     "(stopped)"), tempfails);
	ck_assert_int_ge(counter("waiting", "connections"), out);
	/* What the stop cut short is not cached for the fleet. */
	reply = tenv_redis_cmd(&env.redis, "KEYS waiting:v:*");
	ck_assert_int_eq(reply->type, REDIS_REPLY_ARRAY);
	ck_assert_int_eq(reply->elements, 0);
	freeReplyObject(reply);
	free(log);
}
END_TEST

START_TEST(test_pidfile_through_symlink)
{
	char   *dir = user_dir("run");
	char   *victim = tenv_write(env.dir, "victim", "precious\n");
	char	pidfile[512];
	char	extra[600];
	char	text[64];
	char	want[64];
	char	spec[256];
	struct stat st;
	char   *log;
	unsigned ms;
	pid_t	pid;

	/* What the daemon's user can do: point the pid file elsewhere. */
	snprintf(pidfile, sizeof(pidfile), "%s/rblmilter.pid", dir);
	ck_assert_int_eq(symlink(victim, pidfile), 0);
	snprintf(extra, sizeof(extra), "pidfile = %s\n", pidfile);
	pid = start_daemon("pidfile", "silent.test", extra, spec, sizeof(spec), &log);
	tenv_slurp(victim, text, sizeof(text));
	ck_assert_str_eq(text, "precious\n");
	ck_assert_int_eq(lstat(pidfile, &st), 0);
	ck_assert(S_ISREG(st.st_mode));
	tenv_slurp(pidfile, text, sizeof(text));
	snprintf(want, sizeof(want), "%ld\n", (long) pid);
	ck_assert_str_eq(text, want);
	ck_assert_int_eq(WEXITSTATUS(stop_daemon(pid, log, &ms)), 0);
	ck_assert_int_ne(lstat(pidfile, &st), 0);
	report("pid file planted as a symlink: replaced, %s untouched, "
	       "removed at the stop", victim);
	free(log);
	free(victim);
	free(dir);
}
END_TEST

/* Is path a socket of mode 0660, owned by the daemon's user and nogroup? */
static void
assert_socket(const char *path)
{
	struct stat st;

	ck_assert_msg(lstat(path, &st) == 0, "%s: no socket", path);
	ck_assert(S_ISSOCK(st.st_mode));
	ck_assert_uint_eq(st.st_mode & 07777, 0660);
	ck_assert_uint_eq(st.st_gid, getgrnam("nogroup")->gr_gid);
	if (geteuid() == 0)
		ck_assert_uint_eq(st.st_uid, getpwnam("nobody")->pw_uid);
}

START_TEST(test_unix_sockets)
{
	char   *dir = user_dir("spool");
	char	spec[600];
	char	extra[1024];
	char	milter[512];
	char	policy[512];
	char   *log;
	char   *log2;
	unsigned ms;
	struct msession one;
	struct stat st;
	pid_t	pid;

	snprintf(milter, sizeof(milter), "%s/milter.sock", dir);
	snprintf(policy, sizeof(policy), "%s/policy.sock", dir);
	snprintf(spec, sizeof(spec), "unix:%s", milter);
	snprintf(extra, sizeof(extra), "policy_socket = unix:%s\n"
		 "socket_group = nogroup\nsocket_mode = 0660\n", policy);
	write_conf("unix", spec, "silent.test", extra);
	pid = tenv_rblmilter(env.dir, "unix", spec, 0, &log);
	/* Made with mode and owner at once: never chmod'ed by path. */
	assert_socket(milter);
	assert_socket(policy);
	/* A second daemon must not take over the live sockets. */
	ck_assert_int_eq(tenv_rblmilter_exit(env.dir, "unix", &log2), 71);
	ck_assert_msg(tenv_count_matches(log2, "another process serves") == 1,
		      "%s", tenv_tail(log2, 1000));
	open_session(&one, spec, "192.0.2.1");
	msession_close(&one);
	ck_assert_int_eq(WEXITSTATUS(stop_daemon(pid, log, &ms)), 0);
	ck_assert_int_ne(lstat(milter, &st), 0);
	ck_assert_int_ne(lstat(policy, &st), 0);
	/* A stale socket (nobody serves it) is replaced. */
	ck_assert_int_eq(mknod(policy, S_IFSOCK | 0600, 0), 0);
	free(log);
	pid = tenv_rblmilter(env.dir, "unix", spec, 0, &log);
	assert_socket(policy);
	ck_assert_int_eq(WEXITSTATUS(stop_daemon(pid, log, &ms)), 0);
	report("unix sockets: made 0660 nobody:nogroup, refused to a second "
	       "daemon, a stale one replaced, both removed at the stop");
	free(log);
	free(log2);
	free(dir);
}
END_TEST

START_TEST(test_socket_path_not_a_socket)
{
	char   *dir = user_dir("files");
	char   *file = tenv_write(dir, "data.sock", "precious\n");
	char	milter[600];
	char	policy[600];
	const struct {
		const char *spec;
		const char *extra;
	} cases[] = {
		{milter, ""},
		{"inet:1@127.0.0.1", policy},
	};
	char	text[64];
	char   *log;
	size_t	i;

	snprintf(milter, sizeof(milter), "unix:%s", file);
	snprintf(policy, sizeof(policy), "policy_socket = unix:%s\n", file);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		write_conf("notsock", cases[i].spec, "silent.test",
			   cases[i].extra);
		ck_assert_int_eq(tenv_rblmilter_exit(env.dir, "notsock", &log),
				 71);
		ck_assert_msg(tenv_count_matches(log, "exists and is not a "
						 "socket") == 1, "case %zu: %s",
			      i, tenv_tail(log, 1000));
		tenv_slurp(file, text, sizeof(text));
		ck_assert_str_eq(text, "precious\n");
		ck_assert_int_eq(unlink(log), 0);
		free(log);
	}
	report("a regular file at milter_socket or policy_socket: refused "
	       "(exit 71), left as it was");
	free(file);
	free(dir);
}
END_TEST

/*
 * A SIGHUP while the main thread cannot take it: stopped here (a
 * debugger); in production, busy before its handler ran for another
 * signal.  Linux then gives a signal to another thread that takes it,
 * and libmilter's signal thread would stop the milter.  The milter
 * must serve on, and the main thread reload once it runs again.
 */
START_TEST(test_sighup_main_thread_stopped)
{
	struct msession s;
	char	spec[256];
	char   *log;
	unsigned ms;
	pid_t	pid;
	long	mark;
	int	status;

	pid = start_daemon("stopped", "ok.test", "", spec, sizeof(spec), &log);
	ck_assert_int_eq(open_session(&s, spec, "192.0.2.1"), 'c');
	msession_close(&s);
	mark = tenv_size(log);
	/*
	 * The main thread alone: its thread ID is the process ID.  Root may
	 * trace the daemon's user only with CAP_SYS_PTRACE, which some
	 * containers drop.
	 */
	if (ptrace(PTRACE_SEIZE, pid, NULL, NULL) < 0) {
		ck_assert_msg(errno == EPERM, "ptrace: %s", strerror(errno));
		report("SIGHUP with the main thread stopped: not run, ptrace "
		       "is not permitted here");
		(void) stop_daemon(pid, log, &ms);
		free(log);
		return;
	}
	ck_assert_int_eq(ptrace(PTRACE_INTERRUPT, pid, NULL, NULL), 0);
	ck_assert_int_eq(waitpid(pid, &status, __WALL), pid);
	ck_assert(WIFSTOPPED(status));
	ck_assert_int_eq(kill(pid, SIGHUP), 0);
	usleep(300000);
	msession_init(&s, spec, 5000, &(struct msession_smtp) {
		.host = "[client]", .ip = "192.0.2.2", .port = 25,
		.helo = "client.test", .from = "<a@sender.test>",
		.rcpt = "<b@here.test>", .mailer = "local",
	});
	status = msession_run(&s, MSESSION_OPEN);
	report("SIGHUP with the main thread stopped: a new session %s",
	       status == 0 ? "opened" : s.err);
	ck_assert_msg(status == 0, "the milter stopped: %s", s.err);
	msession_close(&s);
	ck_assert_int_eq(ptrace(PTRACE_DETACH, pid, NULL, NULL), 0);
	ck_assert_msg(tenv_wait_line(log, mark, "configuration reloaded",
				     5000), "%s", tenv_tail(log, 600));
	ck_assert_int_eq(open_session(&s, spec, "192.0.2.3"), 'c');
	msession_close(&s);
	status = stop_daemon(pid, log, &ms);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "exit status 0x%x", status);
	free(log);
}
END_TEST

/* What the daemon's sockets on a TCP port are, seen from a test. */
struct port_sockets {
	int	listening;		/* listening sockets */
	int	connected;		/* connections accepted */
	int	nodelay;		/* of both, with TCP_NODELAY */
};

/*
 * Count the daemon's sockets on port, through copies of its descriptors
 * (pidfd_getfd(2)); false when this process may not copy them.
 */
static bool
port_sockets(pid_t pid, int port, struct port_sockets *seen)
{
	struct sockaddr_in sin;
	struct dirent *entry;
	socklen_t len;
	char	path[64];
	DIR    *dir;
	int	pidfd;
	int	copy;
	int	flag;

	memset(seen, 0, sizeof(*seen));
	ck_assert_int_ge(pidfd = (int) syscall(SYS_pidfd_open, pid, 0), 0);
	snprintf(path, sizeof(path), "/proc/%ld/fd", (long) pid);
	ck_assert_ptr_nonnull(dir = opendir(path));
	while ((entry = readdir(dir)) != NULL) {
		if (entry->d_name[0] == '.')
			continue;
		copy = (int) syscall(SYS_pidfd_getfd, pidfd,
				     atoi(entry->d_name), 0);
		if (copy < 0) {
			ck_assert_msg(errno == EPERM || errno == EBADF,
				      "pidfd_getfd: %s", strerror(errno));
			if (errno == EPERM)
				break;
			continue;
		}
		len = sizeof(sin);
		if (getsockname(copy, (struct sockaddr *) &sin, &len) == 0
		    && sin.sin_family == AF_INET
		    && ntohs(sin.sin_port) == port) {
			len = sizeof(flag);
			ck_assert_int_eq(getsockopt(copy, SOL_SOCKET,
						    SO_ACCEPTCONN, &flag,
						    &len), 0);
			if (flag)
				seen->listening++;
			else
				seen->connected++;
			ck_assert_int_eq(getsockopt(copy, IPPROTO_TCP,
						    TCP_NODELAY, &flag,
						    &len), 0);
			seen->nodelay += flag != 0;
		}
		close(copy);
	}
	closedir(dir);
	close(pidfd);
	return entry == NULL;
}

/*
 * The milter's TCP connections do not wait on Nagle's algorithm: with
 * action = tag, the header and the end-of-message answer are two
 * packets, and Postfix sends no ACK between them for 40 ms.
 */
START_TEST(test_milter_nodelay)
{
	struct port_sockets seen;
	struct msession s;
	char	spec[256];
	char   *log;
	unsigned ms;
	pid_t	pid;
	bool	copied;

	pid = start_daemon("nodelay", "ok.test", "action = tag\n", spec,
			   sizeof(spec), &log);
	msession_init(&s, spec, 5000, &(struct msession_smtp) {
		.host = "[client]", .ip = "192.0.2.1", .port = 25,
	});
	ck_assert_msg(msession_run(&s, MSESSION_OPEN) == 0, "%s", s.err);
	copied = port_sockets(pid, atoi(spec + strlen("inet:")), &seen);
	msession_close(&s);
	if (copied)
		report("milter sockets on TCP: %d listening, %d connected, %d "
		       "with TCP_NODELAY", seen.listening, seen.connected,
		       seen.nodelay);
	else
		report("milter sockets on TCP: not seen, pidfd_getfd is not "
		       "permitted here");
	ck_assert_int_eq(WEXITSTATUS(stop_daemon(pid, log, &ms)), 0);
	free(log);
	if (!copied)
		return;
	ck_assert_int_eq(seen.listening, 1);
	ck_assert_int_eq(seen.connected, 1);
	ck_assert_int_eq(seen.nodelay, 2);
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
	tcase_add_test(tc, test_pidfile_through_symlink);
	tcase_add_test(tc, test_unix_sockets);
	tcase_add_test(tc, test_socket_path_not_a_socket);
	tcase_add_test(tc, test_sighup_main_thread_stopped);
	tcase_add_test(tc, test_milter_nodelay);
	suite_add_tcase(suite, tc);
	return suite;
}

int
main(void)
{
	return tenv_run(daemon_suite());
}
