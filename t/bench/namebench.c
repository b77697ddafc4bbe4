/*
 * namebench - per-request latency of rblmilter's policy service for
 * clients that give names (HELO, sender, host name) and clients whose
 * IP alone is looked up, for the names benchmark (t/bench/names.sh).
 *
 *     namebench [-n ROUNDS] [-w WARMUP] [-d PID]... CASE...
 *
 * CASE is LABEL:PORT:NAMES:PID: a policy service on 127.0.0.1:PORT (one
 * connection, kept, as an smtpd process keeps its own), the daemon's
 * PID, and how many of the names each request gives, 0 to 3, in the
 * order helo_name, sender, client_name.  A name not given is sent as
 * Postfix sends it when unknown: helo_name and sender empty (the null
 * sender), client_name=unknown; rblmilter looks none of these up.
 *
 * Request r of case c (protocol_state=RCPT) comes from 10.C.X.Y, a
 * different address for every r and c, and its names are different for
 * every r and c too, each with a registrable domain of its own and a
 * host below it (helo.hCrR.example, u@mail.sCrR.example,
 * host.cCrR.example), so that each name costs two queries per domain
 * zone, the most a name can cost.
 *
 * Two phases, each WARMUP (default 20) + ROUNDS (default 400) rounds of
 * one request per case, one request at a time, the cases in a rotating
 * order (round r starts with case r modulo the number of cases), so that
 * the machine's load moves every case alike:
 *   miss  every request new: the IP and every name a cache miss;
 *   hit   the same requests again, in the same order: memory hits.
 * A request is timed from before its write to the end of its answer
 * (CLOCK_MONOTONIC).  Around each one, the CPU time of the case's daemon
 * and of the -d processes (the DNS side: dnsdelay, rbldnsd) is read from
 * /proc/PID/task/TID/schedstat (nanoseconds, every thread), outside the
 * timed window.  The WARMUP rounds are not counted.
 *
 * Output, one line per phase and case, key=value:
 *   PHASE LABEL names=K n=N p50_ms= p90_ms= p99_ms= max_ms= cpu_us=
 *   dns_cpu_us=
 * (cpu_us and dns_cpu_us: mean CPU per request of the daemon and of the
 * DNS side).  Every answer must be "action=DUNNO" (no zone lists any of
 * these clients or names); any other is counted as bad= on its line and
 * the first is shown on stderr.
 *
 * Exit status 0 when every request was answered DUNNO, 1 otherwise or
 * when a connection failed (10 s deadline per answer), 64 on a bad
 * command line.  No figure is judged: names.sh prints the ratios.
 */
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "t/bench/loadstat.h"

#define NB_MAX_CASES	32
#define NB_MAX_DNS	8
#define NB_MAX_ROUNDS	60000ul	/* 10.C.X.Y: X and Y from the round */
#define NB_TIMEOUT_MS	10000
#define NB_EX_USAGE	64

enum { NB_MISS, NB_HIT, NB_PHASES };

static const char *const phase_names[NB_PHASES] = {"miss", "hit"};

/* One case: a daemon, and what its requests give. */
struct nb_case {
	const char *label;
	int	port;
	int	names;
	pid_t	pid;
	int	fd;
	uint64_t *ns[NB_PHASES];	/* latency of each counted request */
	uint64_t cpu[NB_PHASES];	/* the daemon's, counted requests */
	uint64_t dns[NB_PHASES];	/* the DNS side's */
	unsigned long bad[NB_PHASES];
};

static struct nb_case cases[NB_MAX_CASES];
static size_t ncases;
static pid_t dns_pids[NB_MAX_DNS];
static size_t ndns;
static bool shown_bad;

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t) ts.tv_sec * 1000000000u + (uint64_t) ts.tv_nsec;
}

/* CPU time of every thread of pid so far, ns; 0 when it is gone. */
static uint64_t
cpu_ns(pid_t pid)
{
	char	path[64];
	char	file[128];
	struct dirent *entry;
	unsigned long long run;
	uint64_t total = 0;
	DIR    *dir;
	FILE   *fp;

	snprintf(path, sizeof(path), "/proc/%ld/task", (long) pid);
	if ((dir = opendir(path)) == NULL)
		return 0;
	while ((entry = readdir(dir)) != NULL) {
		if (entry->d_name[0] == '.')
			continue;
		snprintf(file, sizeof(file), "%s/%.20s/schedstat", path,
			 entry->d_name);
		if ((fp = fopen(file, "r")) == NULL)
			continue;
		if (fscanf(fp, "%llu", &run) == 1)
			total += run;
		fclose(fp);
	}
	closedir(dir);
	return total;
}

static uint64_t
dns_cpu_ns(void)
{
	uint64_t total = 0;
	size_t	i;

	for (i = 0; i < ndns; i++)
		total += cpu_ns(dns_pids[i]);
	return total;
}

static int
connect_port(int port)
{
	struct sockaddr_in sin = {0};
	int	one = 1;
	int	fd;

	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t) port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) < 0)
		return -1;
	if (connect(fd, (struct sockaddr *) &sin, sizeof(sin)) < 0) {
		close(fd);
		return -1;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

/* Request round of case c into buf; its length. */
static size_t
build_request(char *buf, size_t size, size_t c, unsigned long round)
{
	const struct nb_case *nc = &cases[c];
	char	helo[64] = "";
	char	sender[64] = "";
	char	client[64] = "unknown";
	int	len;

	if (nc->names >= 1)
		snprintf(helo, sizeof(helo), "helo.h%zur%lu.example", c, round);
	if (nc->names >= 2)
		snprintf(sender, sizeof(sender), "u@mail.s%zur%lu.example", c,
			 round);
	if (nc->names >= 3)
		snprintf(client, sizeof(client), "host.c%zur%lu.example", c,
			 round);
	len = snprintf(buf, size,
		       "request=smtpd_access_policy\n"
		       "protocol_state=RCPT\n"
		       "protocol_name=ESMTP\n"
		       "client_address=10.%zu.%lu.%lu\n"
		       "client_name=%s\n"
		       "reverse_client_name=%s\n"
		       "helo_name=%s\n"
		       "sender=%s\n"
		       "recipient=u@local.test\n"
		       "recipient_count=0\n"
		       "queue_id=\n"
		       "instance=%zx.%lx\n"
		       "size=0\n"
		       "sasl_method=\n"
		       "sasl_username=\n"
		       "\n",
		       c + 1, round / 250, round % 250 + 1, client, client, helo,
		       sender, c, round);
	return (size_t) len;
}

/* Send one request and read its answer into answer; 0 or -1. */
static int
exchange(int fd, const char *req, size_t len, char *answer, size_t size)
{
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	size_t	off = 0;
	size_t	got = 0;
	ssize_t n;

	while (off < len) {
		n = write(fd, req + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		off += (size_t) n;
	}
	while (got < 2 || answer[got - 1] != '\n' || answer[got - 2] != '\n') {
		if (got + 1 >= size)
			return -1;
		if (poll(&pfd, 1, NB_TIMEOUT_MS) <= 0)
			return -1;
		n = read(fd, answer + got, size - 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		got += (size_t) n;
	}
	answer[got] = 0;
	return 0;
}

/* One phase: WARMUP + ROUNDS rounds.  0 or -1 (a connection failed). */
static int
run_phase(int phase, unsigned long warmup, unsigned long rounds)
{
	char	req[2048];
	char	answer[4096];
	unsigned long r;
	size_t	k;
	size_t	c;
	size_t	len;
	uint64_t cpu0, dns0, t0, t1;

	for (r = 0; r < warmup + rounds; r++)
		for (k = 0; k < ncases; k++) {
			c = (r + k) % ncases;
			len = build_request(req, sizeof(req), c, r);
			cpu0 = cpu_ns(cases[c].pid);
			dns0 = dns_cpu_ns();
			t0 = now_ns();
			if (exchange(cases[c].fd, req, len, answer,
				     sizeof(answer)) < 0) {
				fprintf(stderr, "namebench: %s (port %d): no "
					"answer to request %lu\n",
					cases[c].label, cases[c].port, r);
				return -1;
			}
			t1 = now_ns();
			if (strcmp(answer, "action=DUNNO\n\n") != 0) {
				cases[c].bad[phase]++;
				if (!shown_bad)
					fprintf(stderr, "namebench: %s: answer "
						"\"%.*s\"\n", cases[c].label,
						(int) strcspn(answer, "\n"),
						answer);
				shown_bad = true;
			}
			if (r < warmup)
				continue;
			cases[c].ns[phase][r - warmup] = t1 - t0;
			cases[c].cpu[phase] += cpu_ns(cases[c].pid) - cpu0;
			cases[c].dns[phase] += dns_cpu_ns() - dns0;
		}
	return 0;
}

static void
report(int phase, unsigned long rounds)
{
	struct nb_case *nc;
	uint64_t *v;
	size_t	c;

	for (c = 0; c < ncases; c++) {
		nc = &cases[c];
		v = nc->ns[phase];
		loadstat_sort(v, rounds);
		printf("%s %s names=%d n=%lu p50_ms=%.3f p90_ms=%.3f "
		       "p99_ms=%.3f max_ms=%.3f cpu_us=%.1f dns_cpu_us=%.1f "
		       "bad=%lu\n", phase_names[phase], nc->label, nc->names,
		       rounds, loadstat_percentile(v, rounds, 50) / 1e6,
		       loadstat_percentile(v, rounds, 90) / 1e6,
		       loadstat_percentile(v, rounds, 99) / 1e6,
		       v[rounds - 1] / 1e6, nc->cpu[phase] / 1e3 / rounds,
		       nc->dns[phase] / 1e3 / rounds, nc->bad[phase]);
	}
}

/* LABEL:PORT:NAMES:PID into a new case; 0 or -1. */
static int
parse_case(char *arg)
{
	struct nb_case *nc = &cases[ncases];
	char   *port, *names, *pid, *end;
	long	v;

	if (ncases == NB_MAX_CASES)
		return -1;
	if ((port = strchr(arg, ':')) == NULL
	    || (names = strchr(port + 1, ':')) == NULL
	    || (pid = strchr(names + 1, ':')) == NULL || port == arg)
		return -1;
	*port++ = 0;
	*names++ = 0;
	*pid++ = 0;
	nc->label = arg;
	v = strtol(port, &end, 10);
	if (*port == 0 || *end != 0 || v < 1 || v > 65535)
		return -1;
	nc->port = (int) v;
	v = strtol(names, &end, 10);
	if (*names == 0 || *end != 0 || v < 0 || v > 3)
		return -1;
	nc->names = (int) v;
	v = strtol(pid, &end, 10);
	if (*pid == 0 || *end != 0 || v < 1)
		return -1;
	nc->pid = (pid_t) v;
	ncases++;
	return 0;
}

static unsigned long
parse_count(const char *arg, unsigned long max)
{
	char   *end;
	unsigned long v;

	errno = 0;
	v = strtoul(arg, &end, 10);
	if (*arg == 0 || *end != 0 || errno != 0 || v > max)
		return max + 1;
	return v;
}

static void
usage(void)
{
	fprintf(stderr, "usage: namebench [-n ROUNDS] [-w WARMUP] [-d PID]... "
		"LABEL:PORT:NAMES:PID...\n");
	exit(NB_EX_USAGE);
}

int
main(int argc, char **argv)
{
	unsigned long rounds = 400;
	unsigned long warmup = 20;
	unsigned long bad = 0;
	unsigned long v;
	size_t	c;
	int	phase;
	int	opt;

	while ((opt = getopt(argc, argv, "n:w:d:")) != -1) {
		switch (opt) {
		case 'n':
			rounds = parse_count(optarg, NB_MAX_ROUNDS);
			if (rounds == 0 || rounds > NB_MAX_ROUNDS)
				usage();
			break;
		case 'w':
			warmup = parse_count(optarg, NB_MAX_ROUNDS);
			if (warmup > NB_MAX_ROUNDS)
				usage();
			break;
		case 'd':
			v = parse_count(optarg, 1ul << 30);
			if (ndns == NB_MAX_DNS || v == 0 || v > 1ul << 30)
				usage();
			dns_pids[ndns++] = (pid_t) v;
			break;
		default:
			usage();
		}
	}
	if (optind == argc || warmup + rounds > NB_MAX_ROUNDS)
		usage();
	for (; optind < argc; optind++)
		if (parse_case(argv[optind]) < 0)
			usage();
	for (c = 0; c < ncases; c++) {
		for (phase = 0; phase < NB_PHASES; phase++)
			if ((cases[c].ns[phase] = calloc(rounds,
						sizeof(uint64_t))) == NULL) {
				fprintf(stderr, "namebench: out of memory\n");
				return 1;
			}
		if ((cases[c].fd = connect_port(cases[c].port)) < 0) {
			fprintf(stderr, "namebench: %s: cannot connect to "
				"127.0.0.1:%d: %s\n", cases[c].label,
				cases[c].port, strerror(errno));
			return 1;
		}
	}
	for (phase = 0; phase < NB_PHASES; phase++) {
		if (run_phase(phase, warmup, rounds) < 0)
			return 1;
		report(phase, rounds);
		fflush(stdout);
	}
	for (c = 0; c < ncases; c++)
		bad += cases[c].bad[NB_MISS] + cases[c].bad[NB_HIT];
	return bad == 0 ? 0 : 1;
}
