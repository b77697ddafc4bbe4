/*
 * lists - which clients may relay, skip DNSBL checks, or are always
 * rejected: the relay, allow and deny lists.
 *
 * Entries are IPv4/IPv6 addresses or CIDR prefixes, from files read at
 * start and from Redis sets (see listsync.c), merged into one snapshot
 * that any thread can match against without a Redis round trip.
 */
#ifndef RBL_LISTS_LISTS_H
#define RBL_LISTS_LISTS_H

#include <stddef.h>

struct addr;
struct lists;

#define LIST_RELAY	(1u << 0)	/* may relay */
#define LIST_ALLOW	(1u << 1)	/* skips DNSBL checks */
#define LIST_DENY	(1u << 2)	/* always rejected */
#define LIST_KINDS	3

/* "relay", "allow" or "deny", for kind 0..LIST_KINDS-1. */
const char *lists_kind_name(size_t kind);

/*
 * Read the list files (path per kind, "" for none).  Bad entries, and
 * relay entries shorter than relay_min_v4 or relay_min_v6 bits (here and
 * from Redis), are logged and skipped; a file that cannot be read is an
 * error.
 */
struct lists *lists_create(const char *const files[LIST_KINDS],
			   unsigned relay_min_v4, unsigned relay_min_v6,
			   char *err, size_t errlen);
void	lists_free(struct lists *lists);

/*
 * Replace the Redis part with these members, per kind; source names the
 * Redis key of each kind in log lines about bad entries, or is NULL for
 * a kind whose entries were logged before (they did not change).  On -1
 * (no memory) the previous snapshot stays in force.
 */
int	lists_update(struct lists *lists,
		     char *const *const members[LIST_KINDS],
		     const size_t counts[LIST_KINDS],
		     const char *const sources[LIST_KINDS]);

/*
 * The distinct prefixes of each kind in force (files and Redis), by
 * LIST_* kind; any thread may ask.
 */
void	lists_entries(struct lists *lists, size_t entries[LIST_KINDS]);

/*
 * LIST_RELAY when a relay entry covers addr, plus LIST_ALLOW or LIST_DENY
 * from the longest allow/deny prefix covering it (deny on a tie).
 */
unsigned lists_match(struct lists *lists, const struct addr *addr);

#endif
