/*
 * loadstat - milterload's command line, client IPs, percentiles and reply
 * names, kept apart from the threads and sockets so that check_milterload
 * can test them.
 *
 * Numbers on the command line are decimal, whole, and within bounds; a
 * stray character is an error, never a silent zero.  Generated IPs are
 * consecutive, so COUNT of them are COUNT distinct clients.
 *
 * What it does not: check that SOCKET is well formed (mclient_open() says
 * so at the first connect), or that the IPs of a file are distinct.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "t/bench/loadstat.h"

/* The first generated address, 198.18.0.1, as a number. */
#define LOADSTAT_GEN_FIRST	((198ul << 24) | (18ul << 16) | 1ul)

/* Longest line of an IP file, its newline included. */
#define LOADSTAT_LINE_SIZE	256

/* The reply letters that have a slot of their own, in slot order. */
static const char loadstat_letters[] = "cartds4";

static const char *const loadstat_letter_names[] = {
	"continue", "accept", "reject", "tempfail", "discard", "skip",
	"shutdown", "other",
};

static int loadstat_fail(char *, size_t, const char *,...)
	    __attribute__((format(printf, 3, 4)));

/* Put an error in err; returns -1. */
static int
loadstat_fail(char *err, size_t errlen, const char *fmt,...)
{
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

/* Parse a decimal number from min to max for option opt. */
static int
loadstat_number(const char *text, char opt, unsigned long min,
		unsigned long max, unsigned long *value, char *err,
		size_t errlen)
{
	char   *end = NULL;

	errno = 0;
	if (isdigit((unsigned char) *text))
		*value = strtoul(text, &end, 10);
	if (end == NULL || errno != 0 || *end != 0 || *value < min
	    || *value > max)
		return loadstat_fail(err, errlen, "-%c \"%.32s\": expected a "
				     "number from %lu to %lu", opt, text, min,
				     max);
	return 0;
}

int
loadstat_args(int argc, char **argv, struct loadopts *opts, char *err,
	      size_t errlen)
{
	int	generated = 0;
	int	ch;

	opts->socket = NULL;
	opts->concurrency = 1;
	opts->transactions = 1000;
	opts->ipfile = NULL;
	opts->generate = 1000;
	opts->seconds = 0;
	/* glibc: optind 0 starts getopt() afresh; no messages of its own. */
	optind = 0;
	opterr = 0;
	while ((ch = getopt(argc, argv, ":s:c:n:i:r:t:")) != -1) {
		switch (ch) {
		case 's':
			opts->socket = optarg;
			break;
		case 'c':
			if (loadstat_number(optarg, 'c', 1,
					    LOADSTAT_MAX_CONCURRENCY,
					    &opts->concurrency, err,
					    errlen) < 0)
				return -1;
			break;
		case 'n':
			if (loadstat_number(optarg, 'n', 1,
					    LOADSTAT_MAX_TRANSACTIONS,
					    &opts->transactions, err,
					    errlen) < 0)
				return -1;
			break;
		case 'i':
			opts->ipfile = optarg;
			break;
		case 'r':
			if (loadstat_number(optarg, 'r', 1, LOADSTAT_GEN_MAX,
					    &opts->generate, err, errlen) < 0)
				return -1;
			generated = 1;
			break;
		case 't':
			if (loadstat_number(optarg, 't', 1, LOADSTAT_MAX_SECONDS,
					    &opts->seconds, err, errlen) < 0)
				return -1;
			break;
		case ':':
			return loadstat_fail(err, errlen, "-%c needs a value",
					     optopt);
		default:
			return loadstat_fail(err, errlen, "unknown option "
					     "-%c", optopt);
		}
	}
	if (optind != argc)
		return loadstat_fail(err, errlen, "unexpected argument "
				     "\"%.32s\"", argv[optind]);
	if (opts->socket == NULL)
		return loadstat_fail(err, errlen, "-s SOCKET is required");
	if (opts->ipfile != NULL && generated)
		return loadstat_fail(err, errlen, "-i and -r exclude each "
				     "other");
	return 0;
}

int
loadstat_gen_ip(unsigned long k, char *buf, size_t size)
{
	unsigned long addr = LOADSTAT_GEN_FIRST + k;

	if (k >= LOADSTAT_GEN_MAX)
		return -1;
	snprintf(buf, size, "%lu.%lu.%lu.%lu", addr >> 24, (addr >> 16) & 255,
		 (addr >> 8) & 255, addr & 255);
	return 0;
}

int
loadstat_ips_generate(struct loadips *ips, unsigned long count, char *err,
		      size_t errlen)
{
	unsigned long k;

	ips->ip = NULL;
	ips->count = 0;
	if (count < 1 || count > LOADSTAT_GEN_MAX)
		return loadstat_fail(err, errlen, "%lu IPs: 1 to %lu can be "
				     "generated", count, LOADSTAT_GEN_MAX);
	if ((ips->ip = calloc(count, sizeof(*ips->ip))) == NULL)
		return loadstat_fail(err, errlen, "%s", strerror(errno));
	for (k = 0; k < count; k++)
		(void) loadstat_gen_ip(k, ips->ip[k], sizeof(ips->ip[k]));
	ips->count = count;
	return 0;
}

/* Append an address shorter than LOADSTAT_IP_SIZE; the array doubles. */
static int
loadstat_ips_add(struct loadips *ips, size_t *room, const char *ip)
{
	char	(*more)[LOADSTAT_IP_SIZE];
	size_t	want;

	if (ips->count == *room) {
		want = *room ? *room * 2 : 64;
		if ((more = realloc(ips->ip, want * sizeof(*more))) == NULL)
			return -1;
		ips->ip = more;
		*room = want;
	}
	memcpy(ips->ip[ips->count++], ip, strlen(ip) + 1);
	return 0;
}

/* Is text an IPv4 or IPv6 address, short enough for struct loadips? */
static int
loadstat_is_ip(const char *text)
{
	unsigned char addr[sizeof(struct in6_addr)];

	return strlen(text) < LOADSTAT_IP_SIZE
	    && (inet_pton(AF_INET, text, addr) == 1
		|| inet_pton(AF_INET6, text, addr) == 1);
}

int
loadstat_ips_read(struct loadips *ips, FILE *fp, const char *name, char *err,
		  size_t errlen)
{
	char	line[LOADSTAT_LINE_SIZE];
	char   *ip;
	size_t	room = 0;
	size_t	len;
	unsigned long lineno = 0;

	ips->ip = NULL;
	ips->count = 0;
	while (fgets(line, sizeof(line), fp) != NULL) {
		lineno++;
		len = strlen(line);
		if (len == sizeof(line) - 1 && line[len - 1] != '\n' && !feof(fp)) {
			loadstat_ips_free(ips);
			return loadstat_fail(err, errlen, "%s:%lu: line longer "
					     "than %d bytes", name, lineno,
					     LOADSTAT_LINE_SIZE - 2);
		}
		while (len > 0 && isspace((unsigned char) line[len - 1]))
			line[--len] = 0;
		for (ip = line; isspace((unsigned char) *ip); ip++)
			continue;
		if (*ip == 0 || *ip == '#')
			continue;
		if (!loadstat_is_ip(ip)) {
			loadstat_ips_free(ips);
			return loadstat_fail(err, errlen, "%s:%lu: \"%.64s\" is "
					     "not an IPv4 or IPv6 address",
					     name, lineno, ip);
		}
		if (loadstat_ips_add(ips, &room, ip) < 0) {
			loadstat_ips_free(ips);
			return loadstat_fail(err, errlen, "%s: %s", name,
					     strerror(errno));
		}
	}
	if (ferror(fp)) {
		loadstat_ips_free(ips);
		return loadstat_fail(err, errlen, "%s: read error", name);
	}
	if (ips->count == 0)
		return loadstat_fail(err, errlen, "%s: no IP address", name);
	return 0;
}

const char *
loadstat_ip(const struct loadips *ips, unsigned long i)
{
	return ips->ip[i % ips->count];
}

void
loadstat_ips_free(struct loadips *ips)
{
	free(ips->ip);
	ips->ip = NULL;
	ips->count = 0;
}

/* qsort() order of two latencies. */
static int
loadstat_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *) a;
	uint64_t y = *(const uint64_t *) b;

	return (x > y) - (x < y);
}

void
loadstat_sort(uint64_t *values, size_t n)
{
	if (n > 1)
		qsort(values, n, sizeof(*values), loadstat_cmp);
}

uint64_t
loadstat_percentile(const uint64_t *sorted, size_t n, unsigned pct)
{
	size_t	rank;

	if (n == 0)
		return 0;
	if (pct > 100)
		pct = 100;
	/* Nearest rank: ceil(pct * n / 100), at least 1. */
	rank = (size_t) (((unsigned long long) pct * n + 99) / 100);
	return sorted[rank > 0 ? rank - 1 : 0];
}

int
loadstat_reply_slot(char code, const char *text)
{
	const char *letter;
	int	smtp;

	if (code == 'y') {
		if (text != NULL && (text[0] == '4' || text[0] == '5')
		    && isdigit((unsigned char) text[1])
		    && isdigit((unsigned char) text[2])) {
			smtp = (text[0] - '0') * 100 + (text[1] - '0') * 10
			    + (text[2] - '0');
			return LOADSTAT_REPLY_Y + smtp - 400;
		}
		return LOADSTAT_REPLY_Y - 1;
	}
	if (code != 0 && (letter = strchr(loadstat_letters, code)) != NULL)
		return (int) (letter - loadstat_letters);
	return LOADSTAT_REPLY_Y - 1;
}

void
loadstat_reply_name(int slot, char *buf, size_t size)
{
	if (slot >= LOADSTAT_REPLY_Y && slot < LOADSTAT_REPLY_SLOTS)
		snprintf(buf, size, "y%d", 400 + slot - LOADSTAT_REPLY_Y);
	else if (slot >= 0 && slot < LOADSTAT_REPLY_Y)
		snprintf(buf, size, "%s", loadstat_letter_names[slot]);
	else
		snprintf(buf, size, "other");
}
