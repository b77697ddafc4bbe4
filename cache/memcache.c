/*
 * memcache - the in-memory verdict cache: bounded, least recently used
 * out first, shared by every thread.
 *
 * A hash table of chains sized to the capacity, and one doubly linked
 * recency list: get and put are O(1).  One mutex guards both; what it
 * covers is a hash, a few pointer moves and a string copy, far shorter
 * than anything a session does around it.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cache/memcache.h"
#include "lib/hash.h"

struct memcache_entry {
	char   *text;			/* codec text */
	time_t	expires;
	struct memcache_entry *chain;	/* next in the hash bucket */
	struct memcache_entry *newer;	/* recency list */
	struct memcache_entry *older;
	char	key[];			/* an IP's text, or a name */
};

struct memcache {
	pthread_mutex_t lock;		/* guards everything below */
	size_t	capacity;		/* entries at most */
	size_t	count;
	size_t	mask;			/* buckets - 1, a power of two */
	struct memcache_entry **bucket;
	struct memcache_entry *newest;
	struct memcache_entry *oldest;
};

struct memcache *
memcache_create(size_t capacity)
{
	struct memcache *cache;
	size_t	buckets = 16;

	while (buckets < capacity && buckets < (SIZE_MAX >> 2))
		buckets <<= 1;
	if ((cache = calloc(1, sizeof(*cache))) == NULL)
		return NULL;
	if ((cache->bucket = calloc(buckets, sizeof(*cache->bucket))) == NULL
	    || pthread_mutex_init(&cache->lock, NULL) != 0) {
		free(cache->bucket);
		free(cache);
		return NULL;
	}
	cache->capacity = capacity;
	cache->mask = buckets - 1;
	return cache;
}

void
memcache_free(struct memcache *cache)
{
	struct memcache_entry *entry;

	if (cache == NULL)
		return;
	while ((entry = cache->newest) != NULL) {
		cache->newest = entry->older;
		free(entry->text);
		free(entry);
	}
	pthread_mutex_destroy(&cache->lock);
	free(cache->bucket);
	free(cache);
}

/* The bucket link that points at key's entry (or at the chain's end). */
static struct memcache_entry **
memcache_find(struct memcache *cache, const char *key)
{
	struct memcache_entry **link;

	link = cache->bucket + (hash_bytes(HASH_SEED, key, strlen(key))
				& cache->mask);
	for (; *link != NULL; link = &(*link)->chain)
		if (strcmp((*link)->key, key) == 0)
			break;
	return link;
}

/* Take entry out of the recency list. */
static void
memcache_unlist(struct memcache *cache, struct memcache_entry *entry)
{
	if (entry->newer)
		entry->newer->older = entry->older;
	else
		cache->newest = entry->older;
	if (entry->older)
		entry->older->newer = entry->newer;
	else
		cache->oldest = entry->newer;
}

/* Put entry at the newest end of the recency list. */
static void
memcache_list(struct memcache *cache, struct memcache_entry *entry)
{
	entry->newer = NULL;
	entry->older = cache->newest;
	if (cache->newest)
		cache->newest->newer = entry;
	else
		cache->oldest = entry;
	cache->newest = entry;
}

/* Remove the entry *link points at. */
static void
memcache_drop(struct memcache *cache, struct memcache_entry **link)
{
	struct memcache_entry *entry = *link;

	*link = entry->chain;
	memcache_unlist(cache, entry);
	cache->count--;
	free(entry->text);
	free(entry);
}

char   *
memcache_get(struct memcache *cache, const char *key, time_t now)
{
	struct memcache_entry **link;
	char   *copy = NULL;

	pthread_mutex_lock(&cache->lock);
	link = memcache_find(cache, key);
	if (*link != NULL && (*link)->expires <= now) {
		memcache_drop(cache, link);
	} else if (*link != NULL) {
		memcache_unlist(cache, *link);
		memcache_list(cache, *link);
		copy = strdup((*link)->text);
	}
	pthread_mutex_unlock(&cache->lock);
	return copy;
}

int
memcache_put(struct memcache *cache, const char *key, const char *text,
	     time_t expires)
{
	struct memcache_entry **link;
	struct memcache_entry *entry;
	char   *copy;

	if (cache->capacity == 0)
		return 0;
	if ((copy = strdup(text)) == NULL)
		return -1;
	pthread_mutex_lock(&cache->lock);
	link = memcache_find(cache, key);
	if ((entry = *link) != NULL) {
		free(entry->text);
		memcache_unlist(cache, entry);
	} else if ((entry = calloc(1, sizeof(*entry) + strlen(key) + 1))
		   == NULL) {
		pthread_mutex_unlock(&cache->lock);
		free(copy);
		return -1;
	} else {
		if (cache->count >= cache->capacity)
			memcache_drop(cache, memcache_find(cache,
							   cache->oldest->key));
		/* The drop may have changed the chain: look again. */
		link = memcache_find(cache, key);
		strcpy(entry->key, key);
		*link = entry;
		cache->count++;
	}
	entry->text = copy;
	entry->expires = expires;
	memcache_list(cache, entry);
	pthread_mutex_unlock(&cache->lock);
	return 0;
}
