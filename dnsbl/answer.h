/*
 * answer - turn one DNS reply for a DNSBL query into a zone outcome.
 *
 * Pure functions of the reply bytes, so they can be tested and fuzzed
 * without a network.  Sending queries and timing them out is engine.c's
 * business, not this module's.
 */
#ifndef RBL_DNSBL_ANSWER_H
#define RBL_DNSBL_ANSWER_H

#include <stdbool.h>
#include <stddef.h>

struct dnsbl_sites;
struct verdict_zone;

/*
 * Fill zone from the c-ares status and reply of an A query.  Answers that
 * are not listings (dnsbl_answer_is_listing()) are operator errors: the
 * first is copied to bogus and *has_bogus set.
 */
void	dnsbl_answer_a(int status, const unsigned char *reply, int len,
		       const struct dnsbl_sites *sites, size_t zone_index,
		       struct verdict_zone *zone, unsigned char bogus[4],
		       bool *has_bogus);

/*
 * RFC 5782 listings are in 127/8; 127.255.255/24 means "query refused",
 * and from a name zone 127.0.1.255 too (Spamhaus DBL: "IP queries
 * prohibited", an IP address asked as a name).  kind: enum dnsbl_kind.
 */
bool	dnsbl_answer_is_listing(int kind, const unsigned char answer[4]);

/* What an answer that is not a listing tells the administrator to do. */
const char *dnsbl_answer_advice(const unsigned char answer[4]);

/* Longest TXT explanation kept, in bytes; longer ones are cut. */
#define DNSBL_MAX_TEXT	512

/*
 * The first TXT record of a reply, its strings joined and cut to
 * DNSBL_MAX_TEXT (malloc'd), or NULL.
 */
char   *dnsbl_answer_txt(const unsigned char *reply, int len);

#endif
