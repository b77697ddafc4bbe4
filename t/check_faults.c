/*
 * check_faults - the rblmilter daemon when what it depends on fails: a
 * DNS server that misbehaves (t/dnsfault, one fault per zone) or stops
 * under load, Redis stopped, restarted and frozen under load, clients
 * that vanish at each milter step, SIGHUP every 100 ms under load, and
 * fewer file descriptors than the load needs.
 *
 * Each fault prints one line to the test log, "fault: NAME -> what the
 * daemon did", and the test asserts the safe outcome: a listing only from
 * A records of the name asked; a zone that gave no usable answer counted
 * unknown, so that dns_failure_action applies; TTLs within dnsbl_min_ttl
 * and dnsbl_max_ttl; every decision within redis_timeout + dnsbl_timeout
 * of the connect (plus a margin for a busy machine, not for the daemon);
 * and a daemon that serves on afterwards with its descriptors back.
 *
 * Decision times are taken over TCP, from the session's connect; t/mclient
 * writes a step's macros, and the steps the daemon does not answer, with
 * the next step it answers, in one write (as Postfix does), so no
 * delayed ACK of the client's counts in them.
 *
 * What it does not: measure throughput (t/bench), or run for long
 * (t/soak.sh watches memory and descriptors over minutes).
 */
#include <check.h>
#include <dirent.h>
#include <libmilter/mfapi.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "t/msession.h"
#include "t/tenv.h"

/* One "fault: ..." line of what a test measured, for the test log. */
#define report(...)	tenv_report("fault", __VA_ARGS__)

#define DNSBL_TIMEOUT_MS	500
#define REDIS_TIMEOUT_MS	100

/* How long the daemon waits for a verdict: its WORKER_MARGIN_MS is 250. */
#define DEADLINE_MS	(REDIS_TIMEOUT_MS + DNSBL_TIMEOUT_MS + 250)

/* What two shared cores under the sanitizers may add to that. */
#define LIMIT_MS	(DEADLINE_MS + 1000)

/* Sessions at once under load, and phases a load run is split into. */
#define LOAD_THREADS	20
#define LOAD_PHASES	5

/* The descriptor limit of the starved daemon, and its sessions at once. */
#define NOFILE		32
#define NOFILE_SESSIONS	40

static const char *const zones[] = {
	"ok.test=ok", "servfail.test=servfail", "refused.test=refused",
	"tc.test=tc", "tcclose.test=tcclose", "ttl0.test=ttl:0",
	"ttlmax.test=ttl:2147483647", "ttlwrap.test=ttl:4294967295",
	"wrongtype.test=wrongtype", "wrongname.test=wrongname",
	"cname.test=cname", "cnameloop.test=cnameloop",
	"malformed.test=malformed", "badclass.test=badclass",
	"badrdlen.test=badrdlen", "garbage.test=garbage",
	"silent.test=silent", NULL,
};

static struct {
	char   *dir;
	pid_t	dnsfault;
	int	dns_port;
	char   *queries;		/* dnsfault's query log */
	pid_t	milter;
	int	port;
	char	spec[64];
	char   *log;			/* the daemon's standard error */
} env;

static void
sleep_ms(unsigned ms)
{
	struct timespec ts = {ms / 1000, (long) (ms % 1000) * 1000000};

	while (nanosleep(&ts, &ts) < 0)
		;
}

/* Write the configuration dir/name of a daemon on spec. */
static void
write_config(const char *name, const char *spec, int dns_port,
	     const char *sites, const char *extra)
{
	char	text[1024];

	snprintf(text, sizeof(text),
		 "dns_servers = 127.0.0.1:%d\n"
		 "dnsbl_sites = %s\n"
		 "dnsbl_timeout = %dms\n"
		 "redis_timeout = %dms\n"
		 "milter_socket = %s\n"
		 "%s%s", dns_port, sites, DNSBL_TIMEOUT_MS, REDIS_TIMEOUT_MS,
		 spec, extra, tenv_user());
	free(tenv_write(env.dir, name, text));
}

/* Put a configuration in force in the shared daemon. */
static void
reload(int dns_port, const char *sites, const char *extra)
{
	write_config("rblmilter.conf", env.spec, dns_port, sites, extra);
	tenv_milter_reload(env.milter, env.log);
}

/* Open files of a process; -1 once it is gone. */
static int
fd_count(pid_t pid)
{
	char	path[64];
	DIR    *dir;
	int	count = 0;

	snprintf(path, sizeof(path), "/proc/%ld/fd", (long) pid);
	if ((dir = opendir(path)) == NULL)
		return -1;
	while (readdir(dir) != NULL)
		count++;
	closedir(dir);
	return count - 2;
}

/* Threads of a process; -1 once it is gone. */
static int
thread_count(pid_t pid)
{
	char	path[64];
	char	line[256];
	FILE   *fp;
	int	threads = -1;

	snprintf(path, sizeof(path), "/proc/%ld/status", (long) pid);
	if ((fp = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), fp) != NULL)
		if (sscanf(line, "Threads: %d", &threads) == 1)
			break;
	fclose(fp);
	return threads;
}

/* The shared daemon's descriptors and threads, to see them come back. */
struct usage {
	int	fds;
	int	threads;
};

/* What the daemon uses idle, its last session gone. */
static void
usage_idle(struct usage *u)
{
	sleep_ms(200);
	u->fds = fd_count(env.milter);
	u->threads = thread_count(env.milter);
}

/*
 * Wait up to 5 s for the daemon to use no more than before: a retired
 * generation is freed a second after its last use, a lookup ends at its
 * deadline, and a busy machine takes longer.  Say in seen what it uses;
 * whether it came back.
 */
static bool
usage_back(const struct usage *before, char *seen, size_t size)
{
	struct usage now;
	unsigned waited;
	bool	back = false;

	for (waited = 0; !back && waited <= 5000; waited += 100) {
		if (waited > 0)
			sleep_ms(100);
		now.fds = fd_count(env.milter);
		now.threads = thread_count(env.milter);
		back = now.fds >= 0 && now.fds <= before->fds
		    && now.threads <= before->threads;
	}
	snprintf(seen, size, "descriptors %d before, %d after; threads %d "
		 "before, %d after", before->fds, now.fds, before->threads,
		 now.threads);
	return back;
}

/* CPU time a process used so far, user and system, in milliseconds. */
static unsigned long
cpu_ms(pid_t pid)
{
	unsigned long user = 0;
	unsigned long sys = 0;
	char	path[64];
	char	stat[1024];
	char   *cp;
	FILE   *fp;
	size_t	n;

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long) pid);
	ck_assert_ptr_nonnull(fp = fopen(path, "r"));
	n = fread(stat, 1, sizeof(stat) - 1, fp);
	fclose(fp);
	stat[n] = 0;
	/* Fields 14 and 15, counted after the command name's ")". */
	ck_assert_ptr_nonnull(cp = strrchr(stat, ')'));
	ck_assert_int_eq(sscanf(cp + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u "
				"%*u %*u %lu %lu", &user, &sys), 2);
	return (user + sys) * 1000 / (unsigned long) sysconf(_SC_CLK_TCK);
}

static void
start_servers(void)
{
	env.dir = tenv_mkdir();
	env.queries = tenv_write(env.dir, "queries", "");
	env.dnsfault = tenv_dnsfault(zones, env.queries, &env.dns_port);
	env.port = tenv_free_port();
	snprintf(env.spec, sizeof(env.spec), "inet:%d@127.0.0.1", env.port);
	write_config("rblmilter.conf", env.spec, env.dns_port, "ok.test", "");
	env.milter = tenv_rblmilter(env.dir, "rblmilter", env.spec, 0, &env.log);
}

static void
stop_servers(void)
{
	tenv_milter_stop(env.milter, env.spec);
	tenv_stop(env.dnsfault);
	free(env.log);
	free(env.queries);
	tenv_rmdir(env.dir);
}

/* The session of every case, from a client without a name. */
static const struct msession_smtp smtp = {
	.daemon = "faults", .host = "[client]", .port = 25000,
	.helo = "client.test", .queue_id = "QF", .from = "<a@sender.test>",
	.mailer = "local",
};

/* Start a session from ip to rcpt, with timeout_ms for each packet. */
static void
session_init(struct msession *s, const char *spec, unsigned timeout_ms,
	     const char *ip, const char *rcpt)
{
	msession_init(s, spec, timeout_ms, &smtp);
	s->smtp.ip = ip;
	s->smtp.rcpt = rcpt;
}

/* A whole session up to RCPT; 0 with its reply, or -1 with s->err. */
static int
session_rcpt(struct msession *s, const char *spec, const char *ip,
	     const char *rcpt)
{
	session_init(s, spec, 5000, ip, rcpt);
	if (msession_run(s, MSESSION_RCPT) < 0)
		return -1;
	msession_close(s);
	return 0;
}

/* Did the RCPT reply start with code ("" for continue)? */
static bool
replied(const struct msession *s, const char *code)
{
	if (*code == 0)
		return s->reply.code == SMFIR_CONTINUE;
	return s->reply.code == SMFIR_REPLYCODE
	    && strncmp(s->reply.text, code, strlen(code)) == 0;
}

/* A DNS fault, its client, and the safe outcome. */
struct dns_fault {
	const char *name;
	unsigned flags;
#define FAULT_TCP	(1 << 0)	/* the client is asked about over TCP */
#define FAULT_NO_SERVER	(1 << 1)	/* nothing listens at dns_servers */
	const char *sites;		/* dnsbl_sites: the zone */
	const char *ip;
	const char *code;		/* the RCPT reply; "" is continue */
	const char *decision;		/* in the log line */
	const char *verdict;		/* in the log line */
};

/*
 * The choices: c-ares follows a CNAME chain within one answer and takes
 * the smallest TTL on the way; a CNAME loop or records of another type
 * or owner are no A record, so the zone does not list the client
 * (NOERROR without data), as a resolver's NODATA.  A truncated answer is
 * asked again over TCP; a TCP connection closed unanswered is an
 * unreachable server.  A TTL with the top bit set counts as 0 (RFC 2181).
 */
static const struct dns_fault dns_faults[] = {
	{"ok", 0, "ok.test", "127.0.0.2", "550",
		"action=reject reason=dnsbl",
	"listed=ok.test(127.0.0.2) unknown= ttl=300"},
	{"servfail", 0, "servfail.test", "127.0.0.2", "451",
		"action=tempfail reason=dns-failure",
	"listed= unknown=servfail.test(servfail) ttl=30"},
	{"refused", 0, "refused.test", "127.0.0.2", "451",
		"action=tempfail reason=dns-failure",
	"listed= unknown=refused.test(refused) ttl=30"},
	{"dns-stopped", FAULT_NO_SERVER, "ok.test", "127.0.0.2", "451",
		"action=tempfail reason=dns-failure",
	"listed= unknown=ok.test(unreachable) ttl=30"},
	{"tc", FAULT_TCP, "tc.test", "127.0.0.2", "550",
		"action=reject reason=dnsbl",
	"listed=tc.test(127.0.0.2) unknown= ttl=300"},
	{"tc-tcp-closed", FAULT_TCP, "tcclose.test", "127.0.0.2", "451",
		"action=tempfail reason=dns-failure",
	"listed= unknown=tcclose.test(unreachable) ttl=30"},
	{"ttl-0", 0, "ttl0.test", "127.0.0.2", "550",
		"action=reject reason=dnsbl",
	"listed=ttl0.test(127.0.0.2) unknown= ttl=60"},
	{"ttl-0-nxdomain", 0, "ttl0.test", "127.0.0.3", "",
		"action=pass reason=pass",
	"listed= unknown= ttl=60"},
	{"ttl-2147483647", 0, "ttlmax.test", "127.0.0.2", "550",
		"action=reject reason=dnsbl",
	"listed=ttlmax.test(127.0.0.2) unknown= ttl=3600"},
	{"ttl-2147483647-nxdomain", 0, "ttlmax.test", "127.0.0.3", "",
		"action=pass reason=pass",
	"listed= unknown= ttl=3600"},
	{"ttl-4294967295", 0, "ttlwrap.test", "127.0.0.2", "550",
		"action=reject reason=dnsbl",
	"listed=ttlwrap.test(127.0.0.2) unknown= ttl=60"},
	{"ttl-4294967295-nxdomain", 0, "ttlwrap.test", "127.0.0.3", "",
		"action=pass reason=pass",
	"listed= unknown= ttl=60"},
	{"wrongtype", 0, "wrongtype.test", "127.0.0.2", "",
		"action=pass reason=pass",
	"listed= unknown= ttl=60"},
	{"wrongname", 0, "wrongname.test", "127.0.0.2", "",
		"action=pass reason=pass",
	"listed= unknown= ttl=60"},
	{"cname-chain", 0, "cname.test", "127.0.0.2", "550",
		"action=reject reason=dnsbl",
	"listed=cname.test(127.0.0.2) unknown= ttl=120"},
	{"cname-loop", 0, "cnameloop.test", "127.0.0.2", "",
		"action=pass reason=pass",
	"listed= unknown= ttl=60"},
	{"malformed", 0, "malformed.test", "127.0.0.2", "451",
		"action=tempfail reason=dns-failure",
	"listed= unknown=malformed.test(bad-reply) ttl=30"},
	/* c-ares would skip these A records: a listing must not pass. */
	{"a-class-ch", 0, "badclass.test", "127.0.0.2", "451",
		"action=tempfail reason=dns-failure",
	"listed= unknown=badclass.test(bad-reply) ttl=30"},
	{"a-rdlength-5", 0, "badrdlen.test", "127.0.0.2", "451",
		"action=tempfail reason=dns-failure",
	"listed= unknown=badrdlen.test(bad-reply) ttl=30"},
	{"garbage", 0, "garbage.test", "127.0.0.2", "451",
		"action=tempfail reason=dns-failure",
	"listed= unknown=garbage.test(timeout) ttl=30"},
	{"silent", 0, "silent.test", "127.0.0.2", "451",
		"action=tempfail reason=dns-failure",
	"listed= unknown=silent.test(timeout) ttl=30"},
	{"silent-beside-a-listing", 0, "ok.test, silent.test", "127.0.0.2", "550",
		"action=reject reason=dnsbl",
	"listed=ok.test(127.0.0.2) unknown=silent.test(timeout) ttl=30"},
};

/* The log line from "action=" on, without its rcpt field. */
static const char *
decision_fields(char *line)
{
	char   *start = strstr(line, "action=");
	char   *rcpt;
	char   *end;

	if (start == NULL)
		return line;
	if ((rcpt = strstr(start, " rcpt=\"")) != NULL
	    && (end = strchr(rcpt + 7, '"')) != NULL)
		memmove(rcpt, end + 1, strlen(end + 1) + 1);
	return start;
}

START_TEST(test_dns_faults)
{
	const struct dns_fault *f;
	struct msession s;
	char	rcpt[128];
	char	query[128];
	char	line[4096];
	long	mark;
	unsigned ms;
	size_t	i;

	for (i = 0; i < sizeof(dns_faults) / sizeof(dns_faults[0]); i++) {
		f = dns_faults + i;
		reload(f->flags & FAULT_NO_SERVER ? tenv_free_port()
		       : env.dns_port,
		       f->sites, "dns_failure_action = tempfail\n"
		       "dnsbl_min_ttl = 60\ndnsbl_max_ttl = 3600\n"
		       "dnsbl_incomplete_ttl = 30\n");
		snprintf(rcpt, sizeof(rcpt), "<%s@here.test>", f->name);
		mark = tenv_size(env.log);
		ck_assert_msg(session_rcpt(&s, env.spec, f->ip, rcpt) == 0,
			      "%s: %s", f->name, s.err);
		ms = tenv_elapsed_ms(&s.connected);
		ck_assert_msg(tenv_last_line(env.log, mark, rcpt, line,
					     sizeof(line)),
			      "%s: no decision logged", f->name);
		report("%s -> reply=%s %s (decided in %u ms)%s", f->name,
		       s.reply.code == SMFIR_CONTINUE ? "continue"
		       : s.reply.text, decision_fields(line), ms,
		       f->flags & FAULT_TCP ? "; asked again over TCP" : "");
		ck_assert_msg(replied(&s, f->code), "%s: reply %c %s", f->name,
			      s.reply.code, s.reply.text);
		ck_assert_msg(strstr(line, f->decision) != NULL
			      && strstr(line, f->verdict) != NULL,
			      "%s: want %s ... %s", f->name, f->decision,
			      f->verdict);
		ck_assert_uint_le(ms, LIMIT_MS);
		snprintf(query, sizeof(query), "tcp A 2.0.0.127.%s", f->sites);
		if (f->flags & FAULT_TCP)
			ck_assert_int_ge(tenv_count_lines(env.queries, query), 1);
	}
}
END_TEST

/* What sessions under load saw in one phase. */
struct tally {
	unsigned long sessions;
	unsigned long errors;		/* no answer, or a broken session */
	unsigned long wrong;		/* an answer other than the right one */
	unsigned max_ms;		/* connect to the RCPT reply */
	char	first[600];		/* the first error or wrong answer */
};

/*
 * Sessions from LOAD_THREADS threads at once until stopped: one client
 * in ten is 127.0.0.2 (listed: 550), the others cycle through 200
 * unlisted addresses, so that verdicts repeat and Redis can serve them.
 */
struct load {
	const char *spec;
	atomic_bool stop;
	atomic_uint phase;
	atomic_ulong next;
	pthread_mutex_t lock;		/* guards tally */
	struct tally tally[LOAD_PHASES];
	pthread_t threads[LOAD_THREADS];
};

static void
load_session(struct load *load)
{
	unsigned long k = atomic_fetch_add(&load->next, 1);
	unsigned phase = atomic_load(&load->phase);
	struct tally *t = load->tally + phase;
	struct msession s;
	const char *want = k % 10 == 0 ? "550" : "";
	char	ip[32];
	int	status;

	snprintf(ip, sizeof(ip), k % 10 == 0 ? "127.0.0.2" : "198.18.0.%lu",
		 1 + k % 200);
	status = session_rcpt(&s, load->spec, ip, "<load@here.test>");
	pthread_mutex_lock(&load->lock);
	t->sessions++;
	if (status < 0 || !replied(&s, want)) {
		if (t->first[0] == 0)
			snprintf(t->first, sizeof(t->first), "%s: %.500s", ip,
				 status < 0 ? s.err : s.reply.text);
		if (status < 0)
			t->errors++;
		else
			t->wrong++;
	}
	if (status == 0 && tenv_elapsed_ms(&s.connected) > t->max_ms)
		t->max_ms = tenv_elapsed_ms(&s.connected);
	pthread_mutex_unlock(&load->lock);
}

static void *
load_thread(void *arg)
{
	struct load *load = arg;

	while (!atomic_load(&load->stop))
		load_session(load);
	return NULL;
}

/* Start n threads running fn, thread i with argument base + i * stride. */
static void
threads_start(pthread_t *threads, size_t n, void *(*fn) (void *), char *base,
	      size_t stride)
{
	size_t	i;

	for (i = 0; i < n; i++)
		ck_assert_int_eq(pthread_create(threads + i, NULL, fn,
						base + i * stride), 0);
}

static void
threads_join(pthread_t *threads, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		ck_assert_int_eq(pthread_join(threads[i], NULL), 0);
}

static void
load_start(struct load *load, const char *spec)
{
	memset(load, 0, sizeof(*load));
	load->spec = spec;
	ck_assert_int_eq(pthread_mutex_init(&load->lock, NULL), 0);
	threads_start(load->threads, LOAD_THREADS, load_thread, (char *) load,
		      0);
}

static void
load_stop(struct load *load)
{
	atomic_store(&load->stop, true);
	threads_join(load->threads, LOAD_THREADS);
	pthread_mutex_destroy(&load->lock);
}

/*
 * Report a phase and what else was seen; then assert that all went well:
 * every session answered in time, rightly unless answers other than the
 * listing's may come (strict false: a zone is meant to be unknown).
 */
static void
load_check(const struct load *load, unsigned phase, const char *name,
	   bool strict, bool ok, const char *seen)
{
	const struct tally *t = load->tally + phase;

	report("%s -> sessions=%lu errors=%lu %s=%lu max_decision_ms=%u "
	       "(limit %d)%s%s", name, t->sessions, t->errors,
	       strict ? "wrong" : "unlisted-by-dns-failure", t->wrong,
	       t->max_ms, LIMIT_MS, *seen ? "; " : "", seen);
	ck_assert_msg(t->sessions > 0, "%s: no session", name);
	ck_assert_msg(t->errors == 0 && (t->wrong == 0 || !strict), "%s: %s",
		      name, t->first);
	ck_assert_uint_le(t->max_ms, LIMIT_MS);
	ck_assert_msg(ok, "%s: %s", name, seen);
}

static const char *const redis_phases[LOAD_PHASES] = {
	"redis-up", "redis-stopped", "redis-restarted", "redis-frozen",
	"redis-thawed",
};

/*
 * Do to Redis what the phase is named after, under load, and say in seen
 * what the daemon's log showed; whether it showed what it must.
 */
static bool
redis_phase(unsigned phase, struct tenv_redis *redis, char *seen,
	    size_t size)
{
	long	mark = tenv_size(env.log);
	struct timespec since;
	const char *what;
	bool	ok;

	clock_gettime(CLOCK_MONOTONIC, &since);
	switch (phase) {
	case 0:
		what = "verdicts from Redis";
		ok = tenv_wait_line(env.log, mark, "cache=redis", 5000);
		sleep_ms(1000);
		break;
	case 1:
		ck_assert_int_eq(kill(redis->pid, SIGTERM), 0);
		ck_assert_int_eq(waitpid(redis->pid, NULL, 0), redis->pid);
		sleep_ms(1500);
		what = "logged down";
		ok = tenv_count_since(env.log, mark, "is down") > 0;
		break;
	case 3:
		/* A stopped server still accepts connections. */
		ck_assert_int_eq(kill(redis->pid, SIGSTOP), 0);
		sleep_ms(2000);
		what = "connection dropped as frozen";
		ok = tenv_count_since(env.log, mark, "commands time out") > 0;
		break;
	default:
		if (phase == 2)
			tenv_redis_restart(redis, env.dir);
		else
			ck_assert_int_eq(kill(redis->pid, SIGCONT), 0);
		ok = tenv_wait_line(env.log, mark, "is back", 10000);
		snprintf(seen, size, "reconnected after %u ms: %s; ",
			 tenv_elapsed_ms(&since), ok ? "yes" : "no");
		what = "verdicts from Redis again";
		ok = ok && tenv_wait_line(env.log, mark, "cache=redis", 5000);
		snprintf(seen + strlen(seen), size - strlen(seen), "%s: %s", what,
			 ok ? "yes" : "no");
		return ok;
	}
	snprintf(seen, size, "%s: %s", what, ok ? "yes" : "no");
	return ok;
}

START_TEST(test_redis_under_load)
{
	struct tenv_redis redis;
	struct load load;
	char	extra[128];
	char	seen[LOAD_PHASES][160];
	bool	ok[LOAD_PHASES];
	unsigned phase;

	tenv_redis_start(&redis, env.dir, false, "");
	/* No memory cache: every session asks Redis while it is there. */
	snprintf(extra, sizeof(extra), "redis_server = 127.0.0.1:%d\n"
		 "cache_size = 0\n", redis.port);
	reload(env.dns_port, "ok.test", extra);
	load_start(&load, env.spec);
	for (phase = 0; phase < LOAD_PHASES; phase++) {
		atomic_store(&load.phase, phase);
		ok[phase] = redis_phase(phase, &redis, seen[phase],
					sizeof(seen[phase]));
	}
	load_stop(&load);
	tenv_stop(redis.pid);
	for (phase = 0; phase < LOAD_PHASES; phase++)
		load_check(&load, phase, redis_phases[phase], true, ok[phase],
			   seen[phase]);
}
END_TEST

/*
 * The DNS server stops under load, and comes back on the same port: the
 * zone is unknown meanwhile (dns_failure_action), and lists again after.
 */
START_TEST(test_dns_stopped_under_load)
{
	static const char *const ok_zone[] = {"ok.test=ok", NULL};
	struct timespec since;
	struct load load;
	char	seen[160];
	bool	down;
	bool	back;
	pid_t	dns;
	int	port = 0;
	long	mark;

	dns = tenv_dnsfault(ok_zone, NULL, &port);
	/* No memory cache: every session asks DNS. */
	reload(port, "ok.test", "cache_size = 0\n");
	load_start(&load, env.spec);
	sleep_ms(1000);
	/* Sessions counted as before the stop have their lookups done. */
	atomic_store(&load.phase, 1);
	sleep_ms(500);
	mark = tenv_size(env.log);
	tenv_stop(dns);
	sleep_ms(1500);
	down = tenv_count_since(env.log, mark, "unknown=ok.test(unreachable)")
	    > 0;
	atomic_store(&load.phase, 2);
	mark = tenv_size(env.log);
	clock_gettime(CLOCK_MONOTONIC, &since);
	dns = tenv_dnsfault(ok_zone, NULL, &port);
	back = tenv_wait_line(env.log, mark, "listed=ok.test(127.0.0.2)", 5000);
	snprintf(seen, sizeof(seen), "listing again %u ms after the restart: "
		 "%s", tenv_elapsed_ms(&since), back ? "yes" : "no");
	atomic_store(&load.phase, 3);
	sleep_ms(1000);
	load_stop(&load);
	tenv_stop(dns);
	load_check(&load, 0, "dns-up", true, true, "");
	load_check(&load, 1, "dns-stopped", false, down,
		   down ? "logged unknown=ok.test(unreachable)" : "no unknown zone");
	load_check(&load, 2, "dns-restarted", false, back, seen);
	load_check(&load, 3, "dns-back", true, true, "");
}
END_TEST

START_TEST(test_sighup_under_load)
{
	struct tenv_redis redis;
	struct msession s;
	struct usage before;
	struct load load;
	char	extra[128];
	char	usage[128];
	char	seen[192];
	bool	back;
	long	mark;
	int	reloads;
	int	i;

	tenv_redis_start(&redis, env.dir, false, "");
	snprintf(extra, sizeof(extra), "redis_server = 127.0.0.1:%d\n",
		 redis.port);
	reload(env.dns_port, "ok.test", extra);
	/* Counted once the resolver's socket is open (it stays), idle. */
	ck_assert_msg(session_rcpt(&s, env.spec, "127.0.0.2",
				   "<first@here.test>") == 0, "%s", s.err);
	usage_idle(&before);
	mark = tenv_size(env.log);
	load_start(&load, env.spec);
	for (i = 0; i < 30; i++) {
		ck_assert_int_eq(kill(env.milter, SIGHUP), 0);
		sleep_ms(100);
	}
	load_stop(&load);
	back = usage_back(&before, usage, sizeof(usage));
	reloads = tenv_count_since(env.log, mark, "configuration reloaded");
	snprintf(seen, sizeof(seen), "30 signals, %d reloads; %s", reloads,
		 usage);
	tenv_stop(redis.pid);
	load_check(&load, 0, "sighup-every-100ms", true, back, seen);
	/* Signals that come during a reload are one reload. */
	ck_assert_int_ge(reloads, 10);
	ck_assert_msg(session_rcpt(&s, env.spec, "127.0.0.2",
				   "<last@here.test>") == 0, "%s", s.err);
	ck_assert(replied(&s, "550"));
}
END_TEST

/* Where a client vanishes: after step, or while waiting for its reply. */
static const struct vanish {
	const char *name;
	enum msession_step step;
	unsigned timeout_ms;		/* of each packet */
} vanishes[] = {
	{"negotiate", MSESSION_OPEN, 5000},
	{"connect", MSESSION_CONNECT, 5000},
	{"helo", MSESSION_HELO, 5000},
	{"mail", MSESSION_MAIL, 5000},
	/* Postfix's milter_command_timeout, shorter than the daemon's wait. */
	{"rcpt-waiting", MSESSION_RCPT, DNSBL_TIMEOUT_MS / 2},
	{"rcpt", MSESSION_RCPT, 5000},
	{"data", MSESSION_DATA, 5000},
	{"eom", MSESSION_EOM, 5000},
};

/* A client that sends half a packet and goes. */
static void
vanish_mid_packet(void)
{
	static const unsigned char half[] = {0, 0, 0, 13, SMFIC_OPTNEG, 0, 0};
	int	fd = tenv_connect(env.port);

	ck_assert_int_eq(write(fd, half, sizeof(half)), sizeof(half));
	ck_assert_int_eq(close(fd), 0);
}

START_TEST(test_vanishing_clients)
{
	const struct vanish *v;
	struct msession s;
	struct usage before;
	char	ip[32];
	char	usage[128];
	bool	back;
	int	n = 0;
	size_t	i;
	int	k;

	/* silent.test keeps every lookup in flight until its deadline. */
	reload(env.dns_port, "ok.test, silent.test", "");
	ck_assert_msg(session_rcpt(&s, env.spec, "127.0.0.2",
				   "<first@here.test>") == 0, "%s", s.err);
	usage_idle(&before);
	vanish_mid_packet();
	report("vanish-mid-packet -> the daemon serves on");
	for (i = 0; i < sizeof(vanishes) / sizeof(vanishes[0]); i++) {
		v = vanishes + i;
		for (k = 0; k < 2; k++) {
			snprintf(ip, sizeof(ip), "192.0.2.%d", ++n);
			session_init(&s, env.spec, v->timeout_ms, ip,
				     "<gone@here.test>");
			if (msession_run(&s, v->step) == 0)
				msession_drop(&s);
		}
		ck_assert_msg(session_rcpt(&s, env.spec, "127.0.0.2",
					   "<after@here.test>") == 0, "%s: %s",
			      v->name, s.err);
		report("vanish-at-%s -> 2 clients gone; the next session got "
		       "%.3s in %u ms", v->name, s.reply.text,
		       tenv_elapsed_ms(&s.connected));
		ck_assert(replied(&s, "550"));
	}
	back = usage_back(&before, usage, sizeof(usage));
	report("vanish (all steps) -> %s", usage);
	ck_assert(back);
}
END_TEST

/* Sessions that wait, after HELO, until released all together. */
struct hold {
	pthread_mutex_t lock;
	pthread_cond_t go;
	bool	released;
	const char *spec;
	struct held {
		struct hold *hold;
		struct msession s;
		int	status;		/* 0: got to HELO, then to RCPT */
		bool	helo;		/* got to HELO */
	}	held[NOFILE_SESSIONS];
	pthread_t threads[NOFILE_SESSIONS];
};

static void *
held_thread(void *arg)
{
	struct held *h = arg;
	struct hold *hold = h->hold;

	session_init(&h->s, hold->spec, 2000, "127.0.0.2", "<held@here.test>");
	h->status = msession_run(&h->s, MSESSION_HELO);
	pthread_mutex_lock(&hold->lock);
	h->helo = h->status == 0;
	while (!hold->released)
		pthread_cond_wait(&hold->go, &hold->lock);
	pthread_mutex_unlock(&hold->lock);
	if (h->status == 0
	    && (h->status = msession_run(&h->s, MSESSION_RCPT)) == 0)
		msession_close(&h->s);
	return NULL;
}

static void
hold_start(struct hold *hold, const char *spec)
{
	size_t	i;

	memset(hold, 0, sizeof(*hold));
	hold->spec = spec;
	for (i = 0; i < NOFILE_SESSIONS; i++)
		hold->held[i].hold = hold;
	ck_assert_int_eq(pthread_mutex_init(&hold->lock, NULL), 0);
	ck_assert_int_eq(pthread_cond_init(&hold->go, NULL), 0);
	threads_start(hold->threads, NOFILE_SESSIONS, held_thread,
		      (char *) hold->held, sizeof(hold->held[0]));
}

/*
 * Let the sessions go on to RCPT and wait for them; count those refused
 * with 550 and those never accepted, with the first one's error in *why.
 */
static void
hold_release(struct hold *hold, int *decided, int *failed, const char **why)
{
	struct held *h;
	size_t	i;

	pthread_mutex_lock(&hold->lock);
	hold->released = true;
	pthread_cond_broadcast(&hold->go);
	pthread_mutex_unlock(&hold->lock);
	threads_join(hold->threads, NOFILE_SESSIONS);
	*decided = *failed = 0;
	for (i = 0; i < NOFILE_SESSIONS; i++) {
		h = hold->held + i;
		*decided += h->helo && h->status == 0 && replied(&h->s, "550");
		if (!h->helo && (*failed)++ == 0)
			*why = h->s.err;
	}
	pthread_cond_destroy(&hold->go);
	pthread_mutex_destroy(&hold->lock);
}

/*
 * A daemon with NOFILE descriptors, its milter and policy sockets: more
 * sessions than it can accept, a SIGHUP and a policy client meanwhile.
 */
START_TEST(test_low_ulimit)
{
	static struct hold hold;
	static const char request[] = "request=smtpd_access_policy\n"
		"protocol_state=RCPT\nclient_address=127.0.0.2\n\n";
	struct timespec since;
	struct msession s;
	unsigned long cpu;
	unsigned starved_ms;
	char	spec[64];
	char	extra[128];
	char	refused[512] = "";
	char	answer[512];
	char   *log;
	const char *why = "";
	pid_t	pid;
	long	mark;
	int	policy_port = tenv_free_port();
	int	policy;
	int	decided;
	int	failed;

	snprintf(spec, sizeof(spec), "inet:%d@127.0.0.1",
		 tenv_free_port());
	snprintf(extra, sizeof(extra), "dns_failure_action = tempfail\n"
		 "policy_socket = inet:127.0.0.1:%d\n", policy_port);
	write_config("starved.conf", spec, env.dns_port, "ok.test", extra);
	pid = tenv_rblmilter(env.dir, "starved", spec, NOFILE, &log);
	ck_assert_int_eq(session_rcpt(&s, spec, "127.0.0.2", "<w@here.test>"),
			 0);
	ck_assert(replied(&s, "550"));
	cpu = cpu_ms(pid);
	clock_gettime(CLOCK_MONOTONIC, &since);
	hold_start(&hold, spec);
	/* The sessions not accepted give up after their 2 s deadline. */
	sleep_ms(3000);
	/* Connected, as far as the kernel goes; not accepted yet. */
	policy = tenv_connect(policy_port);
	mark = tenv_size(log);
	ck_assert_int_eq(kill(pid, SIGHUP), 0);
	ck_assert(tenv_wait_line(log, mark, "reload ", 4000));
	ck_assert(tenv_last_line(log, mark, "reload ", refused,
				 sizeof(refused)));
	cpu = cpu_ms(pid) - cpu;
	starved_ms = tenv_elapsed_ms(&since);
	hold_release(&hold, &decided, &failed, &why);
	clock_gettime(CLOCK_MONOTONIC, &since);
	while (session_rcpt(&s, spec, "127.0.0.2", "<r@here.test>") < 0
	       && tenv_elapsed_ms(&since) < 20000)
		;
	/* libmilter retries accept() at once while it fails: CPU, no sleep. */
	report("ulimit-n-%d -> %d sessions at once: %d decided (550), %d not "
	       "accepted (%s), so Postfix applies milter_default_action; "
	       "SIGHUP meanwhile: \"%s\"; %lu ms of CPU in %u ms starved; "
	       "serving again %u ms after the load dropped", NOFILE,
	       NOFILE_SESSIONS, decided, failed, why, strstr(refused, "reload "),
	       cpu, starved_ms, tenv_elapsed_ms(&since));
	ck_assert(replied(&s, "550"));
	ck_assert_int_eq(decided + failed, NOFILE_SESSIONS);
	ck_assert_int_gt(decided, 0);
	ck_assert_int_gt(failed, 0);
	ck_assert_ptr_nonnull(strstr(refused, "reload refused"));
	tenv_send(policy, request);
	tenv_answers(policy, answer, sizeof(answer), 1);
	report("ulimit-n-%d-policy -> a client waiting while starved: %d "
	       "warning(s), %d of libevent's accept() warnings; then answered "
	       "\"%.*s\"", NOFILE,
	       tenv_count_matches(log, "policy: cannot accept connections"),
	       tenv_count_matches(log, "Error from accept()"),
	       (int) strcspn(answer, "\n"), answer);
	/*
	 * One warning per starved spell: taking the last descriptor starts
	 * a second one, as the next accept() fails at once.
	 */
	ck_assert_int_ge(tenv_count_matches(log, "policy: cannot accept "
					    "connections"), 1);
	ck_assert_int_le(tenv_count_matches(log, "policy: cannot accept "
					    "connections"), 2);
	ck_assert_int_eq(tenv_count_matches(log, "Error from accept()"), 0);
	ck_assert_int_ge(tenv_count_matches(log, "policy: accepting "
					    "connections again"), 1);
	ck_assert_int_eq(strncmp(answer, "action=550 ", 11), 0);
	ck_assert_int_eq(close(policy), 0);
	tenv_milter_reload(pid, log);
	tenv_milter_stop(pid, spec);
	free(log);
}
END_TEST

static Suite *
faults_suite(void)
{
	Suite  *suite = suite_create("faults");
	TCase  *tc = tcase_create("faults");

	tcase_add_unchecked_fixture(tc, start_servers, stop_servers);
	tcase_set_timeout(tc, 90);
	tcase_add_test(tc, test_dns_faults);
	tcase_add_test(tc, test_redis_under_load);
	tcase_add_test(tc, test_dns_stopped_under_load);
	tcase_add_test(tc, test_sighup_under_load);
	tcase_add_test(tc, test_vanishing_clients);
	tcase_add_test(tc, test_low_ulimit);
	suite_add_tcase(suite, tc);
	return suite;
}

int
main(void)
{
	return tenv_run(faults_suite());
}
