/*
 * verdict - what the DNSBL/DNSWL zones said about one client IP, or the
 * domain zones about one name, or both joined for one decision.
 *
 * A verdict is a plain value: the engine fills it, front ends rank and
 * print it, the verdict cache (cache/) stores it.  It holds each zone's outcome,
 * the summed score, the TTL it may be reused for, and whether every zone
 * answered.  A joined verdict (verdict_join()) also says which names each
 * domain zone listed.  It does not know about allow/deny/relay lists or
 * actions.
 */
#ifndef RBL_DNSBL_VERDICT_H
#define RBL_DNSBL_VERDICT_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/domain.h"

struct dnsbl_sites;
struct kvline;

/* Answers kept per zone; DNSBLs return one to a few. */
#define VERDICT_MAX_ANSWERS	8

/* Names one decision looks up at most: two (domain_lookup_names()) a role. */
#define VERDICT_MAX_NAMES	(2 * DOMAIN_ROLES)

/* "timeout", "servfail", or a bogus answer such as "127.255.255.254". */
#define VERDICT_REASON_SIZE	24

/* A name that a domain zone listed, in a joined verdict. */
struct verdict_hit {
	int	role;			/* enum domain_role */
	char	name[DOMAIN_NAME_SIZE];	/* as asked */
	size_t	answer_count;		/* its listing answers */
	unsigned char answer[VERDICT_MAX_ANSWERS][4];
};

enum verdict_state {
	VERDICT_ZONE_UNKNOWN,		/* no usable answer (reason says why) */
	VERDICT_ZONE_PASS,		/* NXDOMAIN, or no filter matched */
	VERDICT_ZONE_LISTED,		/* a site's filter matched an answer */
};

struct verdict_zone {
	enum verdict_state state;
	int	score;			/* weights of the matching sites */
	bool	has_ttl;		/* the answer carried a usable TTL */
	unsigned ttl;			/* seconds, when has_ttl */
	size_t	answer_count;		/* valid 127/8 answers kept */
	unsigned char answer[VERDICT_MAX_ANSWERS][4];
	char	reason[VERDICT_REASON_SIZE];	/* when UNKNOWN */
	unsigned long answer_us;	/* from the lookup's start to the A
					 * answer or the deadline, 1 at
					 * least; 0: not asked in DNS (a
					 * cached verdict, a zone not asked) */
	char   *text;			/* TXT explanation, or NULL */
	struct verdict_hit *hits;	/* a domain zone of a joined verdict:
					 * the names it listed, or NULL */
	size_t	hit_count;
	bool	shadow;			/* a shadow zone: asked, not in score
					 * or complete */
};

struct verdict {
	int	score;			/* sum of the scored zones' scores */
	bool	complete;		/* no scored zone is UNKNOWN */
	unsigned ttl;			/* seconds, clamped to min/max TTL */
	unsigned dns_ms;		/* wall time of the lookup */
	size_t	zone_count;		/* as dnsbl_sites_zone_count() */
	struct verdict_zone zone[];	/* same order as the zones */
};

enum verdict_rank {
	VERDICT_PASS,			/* below the threshold */
	VERDICT_REJECT,			/* score >= dnsbl_threshold */
	VERDICT_ALLOW,			/* score <= allowlist threshold */
};

/* A verdict whose zones are all UNKNOWN "timeout", until they answer. */
struct verdict *verdict_create(size_t zone_count);
void	verdict_free(struct verdict *verdict);

/* A deep copy, or NULL when out of memory. */
struct verdict *verdict_clone(const struct verdict *verdict);

/*
 * Mark the shadow zones of sites, then work out score and complete from
 * the zones that are scored (the engine and the codec, once the zones
 * are filled).
 */
void	verdict_sum(struct verdict *verdict, const struct dnsbl_sites *sites);

/*
 * Does the verdict hold shadow zones?  Then *score and *complete say what
 * the verdict would be with them scored.
 */
bool	verdict_shadow(const struct verdict *verdict, int *score,
		       bool *complete);

/* How one zone's query of a lookup ended, for counting. */
enum verdict_result {
	VERDICT_RESULT_LISTED,		/* a site's filter matched */
	VERDICT_RESULT_CLEAN,		/* NXDOMAIN, or no filter matched */
	VERDICT_RESULT_TIMEOUT,
	VERDICT_RESULT_SERVFAIL,
	VERDICT_RESULT_REFUSED,
	VERDICT_RESULT_ERROR_CODE,	/* only answers that are no listing
					 * (127.255.255.x, outside 127/8) */
	VERDICT_RESULT_BAD_REPLY,
	VERDICT_RESULT_ERROR,		/* anything else: unreachable... */
	VERDICT_RESULTS
};

/* How zone ended; not for a zone left unknown(not-asked). */
enum verdict_result verdict_zone_result(const struct verdict_zone *zone);

/* "listed", "clean", "timeout", "servfail", "refused", "error-code"... */
const char *verdict_result_name(enum verdict_result result);

/* One name a decision looked up, and what the domain zones said of it. */
struct verdict_name {
	int	role;			/* enum domain_role */
	const char *name;		/* as asked */
	const struct verdict *verdict;	/* over rhsbl_sites; NULL: none came
					 * in time */
};

/*
 * The verdict of one decision: ip's zones, then those of names_sites, in
 * which each zone is listed when it listed any of the count names, its
 * sites scored once on all their answers (a zone counts once per
 * decision, whichever names it listed), and unknown when it listed none
 * and left one unknown.  TTL the shortest, dns_ms the longest, a domain
 * zone's answer_us its slowest name's.  NULL when out of memory.
 */
struct verdict *verdict_join(const struct verdict *ip,
			     const struct dnsbl_sites *names_sites,
			     const struct verdict_name *names, size_t count);

/*
 * Rank a verdict's score as postscreen does; allowlist_threshold takes
 * effect only when negative (0, the default, turns it off).
 */
enum verdict_rank verdict_rank(int score, int threshold,
			       int allowlist_threshold);
const char *verdict_rank_name(enum verdict_rank rank);

/*
 * Append "zone(answer;answer),zone(answer)" for the listing zones; a
 * domain zone of a joined verdict once per name it listed, as
 * "zone[role=name](answer)".
 */
void	verdict_listed(const struct verdict *verdict,
		       const struct dnsbl_sites *sites, struct kvline *line);

/* The scored listing zone with the highest score (first of equals), or -1. */
int	verdict_top_zone(const struct verdict *verdict);

/* The fields verdict_format() writes, in its order. */
enum verdict_field {
	VERDICT_SCORE, VERDICT_LISTED, VERDICT_UNKNOWN, VERDICT_SHADOW,
	VERDICT_TTL, VERDICT_DNS_MS, VERDICT_ZONE_MS, VERDICT_TEXT,
	VERDICT_FIELDS
};

/* Their keys: the one table that writers and readers of lines share. */
extern const char *const verdict_keys[VERDICT_FIELDS];

/*
 * Append "score= listed= unknown=", with shadow zones "shadow=" (those
 * that listed or left the client unknown, as "zone(answer)" and
 * "zone(why)"), "ttl= dns_ms=", when zones were asked in DNS for it
 * "zone_ms=" (each one's time to its answer or to the deadline, ms), and
 * any "text=" of a scored zone.
 */
void	verdict_format(const struct verdict *verdict,
		       const struct dnsbl_sites *sites, struct kvline *line);

#endif
