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

struct memcache;

struct memcache *memcache_create(size_t capacity);
void	memcache_free(struct memcache *cache);

/*
 * A malloc'd copy of key's value if it expires after now, else NULL.  A
 * key is what a verdict is about: an IP as addr_format() writes it, or a
 * name.
 */
char   *memcache_get(struct memcache *cache, const char *key, time_t now);

/* Store (or replace) key's value; 0, or -1 when out of memory. */
int	memcache_put(struct memcache *cache, const char *key, const char *text,
		     time_t expires);

#endif
