/*
 * loadstat - the logic of milterload that can be tested without a milter:
 * its command line, the client IPs it cycles through (read from a file or
 * generated in 198.18.0.0/15), percentiles of latencies, and the names
 * under which replies are counted.
 *
 * What it does not: talk to a milter, start threads, keep time or print
 * results; milterload.c does.  No global state; nothing here writes to
 * stderr: errors come back as text in the caller's buffer.
 */
#ifndef RBL_LOADSTAT_H
#define RBL_LOADSTAT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Bounds of the command line's numbers. */
#define LOADSTAT_MAX_CONCURRENCY	10000ul
#define LOADSTAT_MAX_TRANSACTIONS	10000000ul
#define LOADSTAT_MAX_SECONDS		86400ul

/*
 * Generated IPs: 198.18.0.1 onwards, one apart, up to 198.19.255.254
 * (RFC 2544's benchmarking block without its first and last address).
 */
#define LOADSTAT_GEN_MAX	131070ul

/* Room for any IPv4 or IPv6 address as text (INET6_ADDRSTRLEN). */
#define LOADSTAT_IP_SIZE	46

/* Exit status of a bad command line (sysexits' EX_USAGE). */
#define LOADSTAT_EX_USAGE	64

/* The command line. */
struct loadopts {
	const char *socket;		/* -s: libmilter's socket spec */
	unsigned long concurrency;	/* -c: sessions at once */
	unsigned long transactions;	/* -n: sessions in all */
	const char *ipfile;		/* -i: IPs from a file, or NULL */
	unsigned long generate;		/* -r: IPs generated (without -i) */
	unsigned long seconds;		/* -t: no new session after; 0: none */
};

/*
 * Parse "-s SOCKET -c CONCURRENCY -n TRANSACTIONS [-i IPFILE | -r COUNT]
 * [-t SECONDS]" (argv[0] is the program).  Defaults: -c 1, -n 1000,
 * -r 1000, no -t.  0, or -1 with the reason in err.  Uses getopt(), and
 * starts it afresh on each call.
 */
int	loadstat_args(int argc, char **argv, struct loadopts *opts, char *err,
		      size_t errlen);

/* The client IPs, as text; session i uses ip[i % count]. */
struct loadips {
	char	(*ip)[LOADSTAT_IP_SIZE];
	size_t	count;
};

/* The k-th generated IP (k < LOADSTAT_GEN_MAX) into buf; -1 if k is not. */
int	loadstat_gen_ip(unsigned long k, char *buf, size_t size);

/* Fill ips with count (1 to LOADSTAT_GEN_MAX) generated IPs.  0 or -1. */
int	loadstat_ips_generate(struct loadips *ips, unsigned long count,
			      char *err, size_t errlen);

/*
 * Read IPv4 or IPv6 addresses from fp, one a line; blank lines and lines
 * that start with # are skipped, white space around an address is
 * ignored.  name is the file's name for errors ("FILE:LINE: ...").  A
 * file with no address is an error.  0 or -1.
 */
int	loadstat_ips_read(struct loadips *ips, FILE *fp, const char *name,
			  char *err, size_t errlen);

/* The IP of session i. */
const char *loadstat_ip(const struct loadips *ips, unsigned long i);

/* Free what generate or read allocated; ips is then empty. */
void	loadstat_ips_free(struct loadips *ips);

/*
 * Sort n latencies (any unit) in place, and return the pct-th percentile
 * (1 to 100) of sorted ones by the nearest-rank method: the smallest
 * value that at least pct% of the values do not exceed.  0 when n is 0.
 */
void	loadstat_sort(uint64_t *values, size_t n);
uint64_t loadstat_percentile(const uint64_t *sorted, size_t n, unsigned pct);

/*
 * Replies are counted in slots: one per SMFIR_* letter milterload can
 * get, then one per SMTP code 400 to 599 of an SMFIR_REPLYCODE ('y').
 */
#define LOADSTAT_REPLY_SLOTS	(LOADSTAT_REPLY_Y + 200)
#define LOADSTAT_REPLY_Y	8

/* The slot of a reply code, with the reply text for 'y'. */
int	loadstat_reply_slot(char code, const char *text);

/*
 * The name of a slot for output: continue, accept, reject, tempfail,
 * discard, skip, shutdown, other, or y and the SMTP code ("y550").
 */
void	loadstat_reply_name(int slot, char *buf, size_t size);

#endif
