/*
 * prefix - longest-prefix match of client addresses against list prefixes.
 *
 * The client allow, deny and relay lists become one table of IPv4 and IPv6
 * prefixes, each with flags; a lookup asks for the longest prefix that
 * contains the client and has any flag of a mask.  The table is filled,
 * finished once, and from then on only read, so any number of threads may
 * match at once without a lock.  This module neither parses list text
 * (addr_parse_prefix() does) nor knows what a flag means.
 */
#ifndef RBL_LISTS_PREFIX_H
#define RBL_LISTS_PREFIX_H

#include <stddef.h>

#include "lib/addr.h"

struct prefix_table;

/* An empty table; NULL when out of memory. */
struct prefix_table *prefix_table_create(void);
void	prefix_table_free(struct prefix_table *table);

/*
 * Add net/bits (host bits of net are ignored) with flags; the flags of a
 * prefix added more than once are OR'ed together.  0, or -1 when out of
 * memory.  A family other than AF_INET or AF_INET6, or bits over 32 or
 * 128, is a programming error and panics.
 */
int	prefix_table_add(struct prefix_table *table, const struct addr *net,
			 unsigned bits, unsigned flags);

/*
 * Sort and merge after the last add, before the first match; adding more
 * later needs another finish.  0, or -1 when out of memory.
 */
int	prefix_table_finish(struct prefix_table *table);

/*
 * The flags of the longest prefix containing addr whose flags & mask is
 * not 0, or 0 when there is none.  IPv4 addresses match IPv4 prefixes
 * only, IPv6 addresses IPv6 prefixes only.  Read-only: safe from many
 * threads at once.
 */
unsigned prefix_table_match(const struct prefix_table *table,
			    const struct addr *addr, unsigned mask);

/* Distinct prefixes, as of the last finish. */
size_t	prefix_table_count(const struct prefix_table *table);

/* Distinct prefixes with any flag of mask, after a finish: O(prefixes). */
size_t	prefix_table_count_flags(const struct prefix_table *table,
				 unsigned mask);

#endif
