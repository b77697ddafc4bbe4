/*
 * milterload - a milter load generator: CONCURRENCY SMTP sessions at once,
 * TRANSACTIONS in all, each one spoken to a filter as Postfix speaks to a
 * milter, and what it saw: sessions per second, latency per step, replies
 * and errors.
 *
 * Usage: milterload -s SOCKET [-c CONCURRENCY] [-n TRANSACTIONS]
 *                   [-i IPFILE | -r COUNT] [-t SECONDS]
 *   SOCKET        the filter: inet:PORT@HOST, inet6:PORT@HOST or unix:/path
 *   CONCURRENCY   sessions at once, one thread each (default 1)
 *   TRANSACTIONS  sessions in all (default 1000)
 *   IPFILE        client IPs, one a line (# comments); or
 *   COUNT         COUNT distinct IPs from 198.18.0.1 on (default 1000)
 *   SECONDS       start no session after this many seconds
 * Session i comes from IP number i modulo the number of IPs.
 *
 * A session (a "transaction", driven by t/msession): connect to the
 * filter and negotiate (step open); {daemon_name} and the client's
 * address (connect); HELO (helo); i and {auth_authen}, empty (not
 * authenticated), then MAIL FROM (mail); {rcpt_mailer} = local, then one
 * RCPT TO (rcpt); DATA (data); end of message (eom); QUIT.  Each with
 * the macros the filter asked for (t/msession); a step negotiated away
 * is not sent and one without a reply not waited for, as Postfix does.
 * The first reply other than continue ends the session, as Postfix ends
 * it after a refusal, or after an accept (of the message: rblmilter
 * accepts at DATA, reply_data_a, unless it must add a header).  Every
 * packet has a 10 s deadline, Postfix's recommended
 * milter_command_timeout.
 *
 * Output, key=value lines on stdout once every session is over: started,
 * done (ended without an error), errors, seconds, tps (done per second),
 * this process's CPU seconds (getrusage), then for each step and for the
 * whole session (total) n, p50_ms, p99_ms and max_ms, then how the
 * sessions ended: reply_continue (every step went on), or
 * reply_STEP_REPLY for a refusal or an accept (reply_rcpt_y550: a 550
 * text at RCPT; reply_data_a: accepted at DATA).
 * The first error goes to stderr.  Exit status 0 once the run is over,
 * errors or not; 1 when it cannot run (IP file, file descriptors,
 * threads); 64 on a bad command line.
 *
 * What it does not: send headers or a body, more than one recipient or
 * message per session, retry, pace sessions, or measure the filter's
 * CPU (read /proc/PID/stat for that).  It raises its own RLIMIT_NOFILE
 * soft limit to fit CONCURRENCY, never the hard one.
 */
#include <errno.h>
#include <libmilter/mfdef.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "t/bench/loadstat.h"
#include "t/msession.h"

/* Deadline of each packet, as milter_command_timeout = 10s. */
#define LOAD_TIMEOUT_MS	10000u

/* File descriptors besides one per session: stdio, the IP file, slack. */
#define LOAD_SPARE_FDS	64

/* Stack of a session thread: a struct msession and mclient's calls fit. */
#define LOAD_STACK_SIZE	(256 * 1024)

/* What is timed: each step (enum msession_step), and the whole session. */
enum {
	LOAD_TOTAL = MSESSION_STEPS, LOAD_STEPS
};

/* The run, shared by the session threads. */
struct load {
	const struct loadopts *opts;
	struct loadips ips;
	uint64_t deadline;		/* no new session after; 0: none */
	atomic_bool stop;		/* no new session: setup failed */
	atomic_ulong next;		/* next session to start */
	atomic_ulong started;
	atomic_ulong done;
	atomic_ulong errors;
	atomic_ulong step_errors[LOAD_STEPS];
	atomic_ulong count[LOAD_STEPS];	/* latencies recorded */
	uint64_t *ns[LOAD_STEPS];	/* the latencies, TRANSACTIONS each */
	/* How sessions ended: the step, and the slot of the reply. */
	atomic_ulong replies[LOAD_STEPS][LOADSTAT_REPLY_SLOTS];
	pthread_mutex_t lock;		/* guards first_error */
	char	first_error[600];
};

/* Nanoseconds on the monotonic clock. */
static uint64_t
load_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t) ts.tv_sec * 1000000000u + (uint64_t) ts.tv_nsec;
}

/* Keep one latency of step. */
static void
load_record(struct load *load, int step, uint64_t ns)
{
	unsigned long slot;

	slot = atomic_fetch_add_explicit(&load->count[step], 1,
					 memory_order_relaxed);
	load->ns[step][slot] = ns;
}

/* Count a session that failed at step; keep the first "STEP: why". */
static void
load_error(struct load *load, unsigned long i, int step, const char *why)
{
	atomic_fetch_add_explicit(&load->errors, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&load->step_errors[step], 1,
				  memory_order_relaxed);
	pthread_mutex_lock(&load->lock);
	if (load->first_error[0] == 0)
		snprintf(load->first_error, sizeof(load->first_error),
			 "session %lu (%s), step %s", i,
			 loadstat_ip(&load->ips, i), why);
	pthread_mutex_unlock(&load->lock);
}

/* The next session for a thread to run; false when there is none. */
static bool
load_claim(struct load *load, unsigned long *i)
{
	if (atomic_load(&load->stop)
	    || (load->deadline != 0 && load_now() >= load->deadline))
		return false;
	*i = atomic_fetch_add(&load->next, 1);
	if (*i >= load->opts->transactions)
		return false;
	atomic_fetch_add_explicit(&load->started, 1, memory_order_relaxed);
	return true;
}

/* Run session i, timing each step and the whole. */
static void
load_session(struct load *load, unsigned long i)
{
	static const struct msession_smtp smtp = {
		.daemon = "milterload", .helo = "client.load.test",
		.auth = "", .from = "<sender@load.test>",
		.rcpt = "<user@local.test>", .mailer = "local",
	};
	const char *ip = loadstat_ip(&load->ips, i);
	struct msession s;
	uint64_t begin = load_now();
	uint64_t t;
	char	host[LOADSTAT_IP_SIZE + 2];
	char	queue_id[24];
	int	step;

	/* Postfix names a client without a PTR name "[ip]". */
	snprintf(host, sizeof(host), "[%s]", ip);
	snprintf(queue_id, sizeof(queue_id), "%010lX", i);
	msession_init(&s, load->opts->socket, LOAD_TIMEOUT_MS, &smtp);
	s.smtp.host = host;
	s.smtp.ip = ip;
	s.smtp.port = 1024 + (unsigned) (i % 64000);
	s.smtp.queue_id = queue_id;
	for (step = MSESSION_OPEN; step <= MSESSION_EOM; step++) {
		t = load_now();
		if (msession_step(&s, step) < 0) {
			load_error(load, i, step, s.err);
			return;
		}
		load_record(load, step, load_now() - t);
		if (s.reply.code != SMFIR_CONTINUE)
			break;
	}
	msession_close(&s);
	load_record(load, LOAD_TOTAL, load_now() - begin);
	if (step > MSESSION_EOM)
		step = MSESSION_EOM;
	atomic_fetch_add_explicit(&load->replies[step]
				  [loadstat_reply_slot(s.reply.code,
						       s.reply.text)],
				  1, memory_order_relaxed);
	atomic_fetch_add_explicit(&load->done, 1, memory_order_relaxed);
}

/* The name of what is timed: a step's, or "total". */
static const char *
load_step_name(int step)
{
	return step == LOAD_TOTAL ? "total" : msession_step_name(step);
}

/* A session thread: run sessions until none is left. */
static void *
load_thread(void *arg)
{
	struct load *load = arg;
	unsigned long i;

	while (load_claim(load, &i))
		load_session(load, i);
	return NULL;
}

/* Raise the soft RLIMIT_NOFILE to fit concurrency sessions. */
static int
load_nofile(unsigned long concurrency, char *err, size_t errlen)
{
	struct rlimit rl;
	rlim_t	need = (rlim_t) concurrency + LOAD_SPARE_FDS;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0) {
		snprintf(err, errlen, "getrlimit: %s", strerror(errno));
		return -1;
	}
	if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= need)
		return 0;
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < need) {
		snprintf(err, errlen, "%lu sessions need %lu file descriptors; "
			 "the hard limit is %lu (ulimit -Hn)", concurrency,
			 (unsigned long) need, (unsigned long) rl.rlim_max);
		return -1;
	}
	rl.rlim_cur = need;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0) {
		snprintf(err, errlen, "setrlimit: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/* The client IPs the options ask for. */
static int
load_ips(const struct loadopts *opts, struct loadips *ips, char *err,
	 size_t errlen)
{
	FILE   *fp;
	int	status;

	if (opts->ipfile == NULL)
		return loadstat_ips_generate(ips, opts->generate, err, errlen);
	if ((fp = fopen(opts->ipfile, "r")) == NULL) {
		snprintf(err, errlen, "%s: %s", opts->ipfile, strerror(errno));
		return -1;
	}
	status = loadstat_ips_read(ips, fp, opts->ipfile, err, errlen);
	fclose(fp);
	return status;
}

/* Set up the run: IPs and latency arrays. */
static int
load_init(struct load *load, const struct loadopts *opts, char *err,
	  size_t errlen)
{
	int	step;

	load->opts = opts;
	if (load_ips(opts, &load->ips, err, errlen) < 0)
		return -1;
	for (step = 0; step < LOAD_STEPS; step++)
		if ((load->ns[step] = calloc(opts->transactions,
					     sizeof(uint64_t))) == NULL) {
			snprintf(err, errlen, "%lu latencies: %s",
				 opts->transactions, strerror(errno));
			return -1;
		}
	return 0;
}

/* Free what load_init() set up, however far it got. */
static void
load_free(struct load *load)
{
	int	step;

	for (step = 0; step < LOAD_STEPS; step++)
		free(load->ns[step]);
	loadstat_ips_free(&load->ips);
}

/*
 * Start one thread per session slot and wait for them all; the wall time
 * in *seconds.  A thread that cannot be started stops the run.
 */
static int
load_run(struct load *load, double *seconds, char *err, size_t errlen)
{
	pthread_attr_t attr;
	pthread_t *threads;
	unsigned long n = load->opts->concurrency;
	unsigned long k;
	uint64_t begin;
	int	status = 0;

	if ((threads = calloc(n, sizeof(*threads))) == NULL) {
		snprintf(err, errlen, "%s", strerror(errno));
		return -1;
	}
	if ((errno = pthread_attr_init(&attr)) != 0
	    || (errno = pthread_attr_setstacksize(&attr, LOAD_STACK_SIZE)) != 0) {
		snprintf(err, errlen, "pthread_attr: %s", strerror(errno));
		free(threads);
		return -1;
	}
	begin = load_now();
	if (load->opts->seconds != 0)
		load->deadline = begin + load->opts->seconds * 1000000000ull;
	for (k = 0; k < n; k++)
		if ((errno = pthread_create(&threads[k], &attr, load_thread,
					    load)) != 0) {
			snprintf(err, errlen, "thread %lu of %lu: %s", k + 1, n,
				 strerror(errno));
			atomic_store(&load->stop, true);
			status = -1;
			break;
		}
	while (k > 0)
		pthread_join(threads[--k], NULL);
	*seconds = (double) (load_now() - begin) / 1e9;
	pthread_attr_destroy(&attr);
	free(threads);
	return status;
}

/* Milliseconds, from nanoseconds. */
static double
load_ms(uint64_t ns)
{
	return (double) ns / 1e6;
}

/* Print the results, key=value. */
static void
load_report(struct load *load, double seconds)
{
	const struct loadopts *opts = load->opts;
	struct rusage ru;
	unsigned long n;
	unsigned long count;
	char	name[16];
	int	step;
	int	slot;

	printf("socket=%s concurrency=%lu transactions=%lu ips=%zu "
	       "timeout_ms=%u\n", opts->socket, opts->concurrency,
	       opts->transactions, load->ips.count, LOAD_TIMEOUT_MS);
	n = atomic_load(&load->done);
	printf("started=%lu done=%lu errors=%lu seconds=%.3f tps=%.1f\n",
	       atomic_load(&load->started), n, atomic_load(&load->errors),
	       seconds, seconds > 0 ? (double) n / seconds : 0.0);
	if (getrusage(RUSAGE_SELF, &ru) == 0)
		printf("cpu_user_s=%.3f cpu_sys_s=%.3f\n",
		       (double) ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6,
		       (double) ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6);
	for (step = 0; step < LOAD_STEPS; step++) {
		count = atomic_load(&load->count[step]);
		loadstat_sort(load->ns[step], count);
		printf("%s_n=%lu %s_p50_ms=%.3f %s_p99_ms=%.3f %s_max_ms=%.3f\n",
		       load_step_name(step), count, load_step_name(step),
		       load_ms(loadstat_percentile(load->ns[step], count, 50)),
		       load_step_name(step),
		       load_ms(loadstat_percentile(load->ns[step], count, 99)),
		       load_step_name(step),
		       load_ms(loadstat_percentile(load->ns[step], count, 100)));
	}
	printf("reply_continue=%lu", atomic_load(&load->replies[MSESSION_EOM][0]));
	for (step = 0; step < LOAD_STEPS; step++)
		for (slot = 0; slot < LOADSTAT_REPLY_SLOTS; slot++) {
			if ((count = atomic_load(&load->replies[step][slot])) == 0
			    || (step == MSESSION_EOM && slot == 0))
				continue;
			loadstat_reply_name(slot, name, sizeof(name));
			printf(" reply_%s_%s=%lu", load_step_name(step), name,
			       count);
		}
	printf("\n");
	for (step = 0; step < LOAD_STEPS; step++)
		if ((count = atomic_load(&load->step_errors[step])) != 0)
			printf("errors_%s=%lu\n", load_step_name(step), count);
	if (load->first_error[0] != 0)
		fprintf(stderr, "milterload: first error: %s\n",
			load->first_error);
}

/* Say how to call the program; the exit status of a bad command line. */
static int
load_usage(const char *why)
{
	fprintf(stderr, "milterload: %s\nusage: milterload -s SOCKET "
		"[-c CONCURRENCY] [-n TRANSACTIONS] [-i IPFILE | -r COUNT] "
		"[-t SECONDS]\n", why);
	return LOADSTAT_EX_USAGE;
}

int
main(int argc, char **argv)
{
	static struct load load = {.lock = PTHREAD_MUTEX_INITIALIZER};
	struct loadopts opts;
	double	seconds = 0;
	char	err[512];
	int	status;

	if (loadstat_args(argc, argv, &opts, err, sizeof(err)) < 0)
		return load_usage(err);
	if (load_nofile(opts.concurrency, err, sizeof(err)) < 0
	    || load_init(&load, &opts, err, sizeof(err)) < 0) {
		fprintf(stderr, "milterload: %s\n", err);
		load_free(&load);
		return 1;
	}
	status = load_run(&load, &seconds, err, sizeof(err));
	if (status < 0)
		fprintf(stderr, "milterload: %s\n", err);
	load_report(&load, seconds);
	load_free(&load);
	return status < 0 ? 1 : 0;
}
