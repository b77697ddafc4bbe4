/*
 * report - "rblmilter --report": a summary of rblmilter's own decision
 * log lines, for an administrator or a script.
 *
 * The line parser is public so that other readers of the log can share
 * it: report_parse() takes one line, in syslog form ("Nov 25 17:01:02
 * host rblmilter[123]: queue_id=..."), in the -f form ("rblmilter:
 * queue_id=...") or bare, and gives its fields unescaped.  The report counts
 * what the parser gives; it keeps no lines, only counts, so its memory
 * does not grow with the length of the log.  It reads no configuration
 * and asks no DNS or Redis.
 */
#ifndef RBL_CLI_REPORT_H
#define RBL_CLI_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "cache/vcache.h"
#include "decide/decision.h"
#include "lib/addr.h"

/* Longest line taken whole, its newline included; longer ones are cut. */
#define REPORT_LINE_MAX		8192

/* A syslog timestamp as written ("2024-11-25T17:01:02.123456+01:00"). */
#define REPORT_STAMP_SIZE	40

/* What one log line is. */
enum report_line_kind {
	REPORT_OTHER,			/* not an rblmilter decision line */
	REPORT_DECISION,		/* a whole decision line */
	REPORT_GARBLED,			/* a decision line, truncated or
					 * garbled */
};

/*
 * The fields of one decision line.  Strings point into buf, unescaped,
 * NUL-terminated; NULL when the line does not have the field.  score,
 * listed, unknown, ttl and dns_ms are set when cache is.
 */
struct report_decision {
	char	stamp[REPORT_STAMP_SIZE];	/* syslog time, or "" */
	const char *queue_id;
	const char *daemon;		/* milter: {daemon_name} */
	const char *front;		/* "milter", "policy" or "check" */
	const char *helo;
	const char *stage;
	const char *action;
	const char *reason;
	const char *decisive;		/* "zone,zone": the zones a rejection
					 * needed, or NULL */
	const char *shadow_action;	/* with shadow zones: the action had
					 * they been scored, or NULL */
	const char *list;		/* "relay,allow", or NULL: none */
	const char *rcpt;
	const char *greylist;		/* "new", "early", "passed", "off",
					 * or NULL: not greylisting's */
	const char *greylist_wait;	/* seconds, or NULL */
	const char *cache;		/* NULL: no verdict (lists decided) */
	const char *listed;		/* "zone(answer;answer),zone(...)",
					 * "zone[role=name](answer)" */
	const char *unknown;		/* "zone(why),zone(why)" */
	const char *shadow;		/* shadow zones that listed or left
					 * the client unknown, or NULL */
	const char *zone_ms;		/* "zone(ms),zone(ms)": the zones
					 * asked in DNS, or NULL */
	const char *text;		/* the TXT record, or NULL */
	struct addr client;
	enum decision_kind kind;	/* from action */
	int	greylist_outcome;	/* enum greylist_outcome, from
					 * greylist (GREYLIST_NONE: none) */
	enum cache_level level;		/* from cache */
	long	score;
	unsigned long ttl;
	unsigned long dns_ms;
	char	buf[REPORT_LINE_MAX];
};

/*
 * Parse one line of len bytes (no newline needed; any NUL byte in it
 * makes it no decision line).  Fills decision only for REPORT_DECISION.
 */
enum report_line_kind report_parse(const char *line, size_t len,
				   struct report_decision *decision);

/*
 * One "zone(detail)" of a listed= or unknown= value, or of listed= a
 * domain zone's "zone[role=name](detail)".
 */
struct report_zone {
	const char *name;
	size_t	name_len;
	const char *role;		/* "helo", "sender", "client", or NULL */
	size_t	role_len;
	const char *subject;		/* the name it listed, with role */
	size_t	subject_len;
	const char *detail;		/* answers, or why there is none */
	size_t	detail_len;
};

/*
 * The zone at *list; moves *list past it.  1, 0 at the end of the
 * value, -1 when the value is malformed there.
 */
int	report_zone_next(const char **list, struct report_zone *zone);

struct report;

struct report *report_create(void);
void	report_free(struct report *report);

/* Count one line of len bytes; 0, or -1 when out of memory. */
int	report_add(struct report *report, const char *line, size_t len);

/* Count every line of in; 0, or -1 with a message in err. */
int	report_read(struct report *report, FILE *in, char *err, size_t errlen);

/* Print the report: aligned text, or JSON. */
void	report_print(const struct report *report, bool json, FILE *out);

/*
 * "rblmilter --report": read path ("-": standard input), print the
 * report to out.  Returns the exit status: 0, or 2 when the input cannot
 * be read, memory runs out or the output cannot be written.
 */
int	report_run(const char *path, bool json, FILE *out);

#endif
