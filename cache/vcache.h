/*
 * vcache - one client IP (or one name, for the domain zones) to one
 * verdict: memory cache, then Redis, then DNS, and the answer stored back
 * in both.
 *
 * Lookups of an IP or name already in progress join it instead of asking
 * again.
 * Runs on the loop thread; callbacks come from the loop.  Lists and
 * actions are not its business.
 */
#ifndef RBL_CACHE_VCACHE_H
#define RBL_CACHE_VCACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct dnsbl_engine;
struct dnsbl_sites;
struct event_base;
struct memcache;
struct stats;
struct store;
struct verdict;
struct vcache;

enum cache_level {
	CACHE_MEMORY,			/* found in this host's memory */
	CACHE_REDIS,			/* found in the shared Redis */
	CACHE_MISS,			/* asked the DNS zones */
};

struct vcache_options {
	const struct dnsbl_sites *sites;
	struct dnsbl_engine *engine;	/* made with sites */
	bool	names;			/* sites are domain zones: subjects
					 * are names, keys PREFIX d:... */
	size_t	zone_offset;		/* of sites' zones in the counters' */
	struct memcache *memory;
	struct store *store;		/* NULL without Redis */
	struct stats *stats;
	const char *prefix;		/* Redis key prefix, "rblmilter:" */
	uint64_t config_hash;		/* of everything a verdict depends on */
	unsigned max_ttl;		/* seconds: a verdict from Redis lives
					 * no longer (dnsbl_max_ttl) */
};

/*
 * The verdict (the callee owns it; NULL only when out of memory) and
 * where it came from.
 */
typedef void vcache_done_fn(struct verdict *verdict, enum cache_level level,
			    void *arg);

const char *vcache_level_name(enum cache_level level);

struct vcache *vcache_create(struct event_base *base,
			     const struct vcache_options *options);

/* Only when no lookup is in flight. */
void	vcache_free(struct vcache *cache);

/*
 * The verdict of subject (an IP as addr_format() writes it, or a name as
 * domain_normalise() does) in the memory cache, or NULL.  Thread-safe:
 * front ends ask it first, in their own thread, and save a trip to the
 * loop's thread.
 */
struct verdict *vcache_cached(struct vcache *cache, const char *subject);

/*
 * Look subject up; done runs later, from the loop, exactly once.  -1: out
 * of memory, or a subject too long.
 */
int	vcache_submit(struct vcache *cache, const char *subject,
		      vcache_done_fn *done, void *arg);

#endif
