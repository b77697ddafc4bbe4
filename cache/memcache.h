/*
 * memcache - the in-memory verdict cache: bounded, least recently used
 * out first, shared by every thread.
 *
 * Values are codec text with an absolute expiry; the cache neither
 * decodes them nor talks to Redis.  With capacity 0 it holds nothing.
 */
#ifndef RBL_CACHE_MEMCACHE_H
#define RBL_CACHE_MEMCACHE_H

#include <stddef.h>
#include <time.h>

struct addr;
struct memcache;

struct memcache *memcache_create(size_t capacity);
void	memcache_free(struct memcache *cache);

/* A malloc'd copy of addr's value if it expires after now, else NULL. */
char   *memcache_get(struct memcache *cache, const struct addr *addr,
		     time_t now);

/* Store (or replace) addr's value; 0, or -1 when out of memory. */
int	memcache_put(struct memcache *cache, const struct addr *addr,
		     const char *text, time_t expires);

#endif
