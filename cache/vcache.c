/*
 * vcache - one client IP (or one name) to one verdict: memory cache, then
 * Redis, then DNS, and the answer stored back in both.
 *
 * Redis keys are PREFIX v:HASH:IP, and PREFIX d:HASH:NAME for names,
 * HASH being 8 hex digits of a hash of the zones, filters, weights and
 * thresholds: hosts with the same settings share verdicts, and a changed
 * setting never reads an old one.
 * A Redis value that does not decode is logged and treated as a miss; the
 * fresh verdict then overwrites it.  A verdict with TTL 0 is not stored.
 * A cached verdict in which a zone now out of scoring (health.h) lists the
 * client, or left it unknown, is a miss too: it was made before the zone
 * went bad, and the fresh one, made without the zone, replaces it.
 */
#include <event2/event.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cache/codec.h"
#include "cache/memcache.h"
#include "stats/stats.h"
#include "redis/store.h"
#include "cache/vcache.h"
#include "dnsbl/engine.h"
#include "dnsbl/health.h"
#include "dnsbl/verdict.h"
#include "lib/domain.h"
#include "lib/hash.h"
#include "lib/msg.h"

/* Buckets of the in-flight table; it holds one entry per IP or name
 * being looked up, so it never grows past the number of sessions
 * (times the names of each). */
#define VCACHE_BUCKETS	1024

/* Someone waiting for a verdict. */
struct vcache_waiter {
	vcache_done_fn *done;
	void   *arg;
	struct vcache_waiter *next;
};

/* One IP or name being looked up, and everyone waiting for it. */
struct vcache_flight {
	struct vcache *cache;
	char	subject[DOMAIN_NAME_SIZE];	/* the IP's text, or the name */
	char	key[600];		/* its Redis key */
	struct vcache_waiter *waiters;
	struct vcache_flight *next;	/* in its bucket */
	struct verdict *verdict;	/* a memory hit, handed out next turn */
};

struct vcache {
	struct event_base *base;
	struct vcache_options options;
	char	key_prefix[300];	/* PREFIX v:HASH: or PREFIX d:HASH: */
	struct vcache_flight *bucket[VCACHE_BUCKETS];
	unsigned in_flight;
};

static const struct timeval vcache_now_tv = {0, 0};

const char *
vcache_level_name(enum cache_level level)
{
	switch (level) {
	case CACHE_MEMORY:
		return "memory";
	case CACHE_REDIS:
		return "redis";
	case CACHE_MISS:
		break;
	}
	return "miss";
}

struct vcache *
vcache_create(struct event_base *base, const struct vcache_options *options)
{
	struct vcache *cache;

	if ((cache = calloc(1, sizeof(*cache))) == NULL)
		return NULL;
	cache->base = base;
	cache->options = *options;
	snprintf(cache->key_prefix, sizeof(cache->key_prefix), "%s%s:%08x:",
		 options->prefix, options->names ? "d" : "v",
		 (unsigned) (options->config_hash
			     ^ (options->config_hash >> 32)));
	return cache;
}

void
vcache_free(struct vcache *cache)
{
	if (cache->in_flight != 0)
		msg_panic("vcache_free: %u lookups in flight", cache->in_flight);
	free(cache);
}

/* The bucket link of subject's flight (or of the chain's end). */
static struct vcache_flight **
vcache_find(struct vcache *cache, const char *subject)
{
	struct vcache_flight **link;

	link = cache->bucket + hash_bytes(HASH_SEED, subject, strlen(subject))
	    % VCACHE_BUCKETS;
	for (; *link != NULL; link = &(*link)->next)
		if (strcmp((*link)->subject, subject) == 0)
			break;
	return link;
}

/* The counter of a verdict found at level. */
static enum stats_counter
vcache_counter(const struct vcache *cache, enum cache_level level)
{
	static const enum stats_counter counters[2][3] = {
		{[CACHE_MEMORY] = STATS_CACHE_MEMORY,
		 [CACHE_REDIS] = STATS_CACHE_REDIS,
		[CACHE_MISS] = STATS_CACHE_MISS},
		{[CACHE_MEMORY] = STATS_NAME_MEMORY,
		 [CACHE_REDIS] = STATS_NAME_REDIS,
		[CACHE_MISS] = STATS_NAME_MISS},
	};

	return counters[cache->options.names][level];
}

/* Hand verdict to every waiter and end the flight. */
static void
vcache_finish(struct vcache_flight *flight, struct verdict *verdict,
	      enum cache_level level)
{
	struct vcache *cache = flight->cache;
	struct vcache_waiter *waiter;
	struct verdict *copy;

	*vcache_find(cache, flight->subject) = flight->next;
	cache->in_flight--;
	while ((waiter = flight->waiters) != NULL) {
		flight->waiters = waiter->next;
		copy = verdict;
		if (waiter->next != NULL && verdict != NULL)
			copy = verdict_clone(verdict);
		stats_count(cache->options.stats, vcache_counter(cache, level));
		waiter->done(copy, level, waiter->arg);
		free(waiter);
	}
	free(flight);
}

/* Keep a fresh verdict in memory and in Redis. */
static void
vcache_store(struct vcache_flight *flight, const struct verdict *verdict)
{
	struct vcache *cache = flight->cache;
	time_t	expires = time(NULL) + verdict->ttl;
	char   *text;

	if (verdict->ttl == 0 || (text = codec_encode(verdict, expires)) == NULL)
		return;
	memcache_put(cache->options.memory, flight->subject, text, expires);
	if (cache->options.store != NULL)
		store_command(cache->options.store, NULL, NULL, "SET %s %s EX %u",
			      flight->key, text, verdict->ttl);
	free(text);
}

/*
 * The DNS zones have answered (or the deadline passed).  Each zone asked
 * counts its answer time (the deadline's when it timed out).
 */
static void
vcache_on_dns(struct verdict *verdict, void *arg)
{
	struct vcache_flight *flight = arg;
	struct stats *stats = flight->cache->options.stats;
	size_t	zone = flight->cache->options.zone_offset;
	bool	timeout;
	size_t	i;

	for (i = 0; i < verdict->zone_count; i++) {
		if (strcmp(verdict->zone[i].reason, "not-asked") == 0
		    && verdict->zone[i].state == VERDICT_ZONE_UNKNOWN)
			continue;
		stats_count_zone(stats, zone + i, STATS_ZONE_QUERY);
		stats_zone_result(stats, zone + i,
				  verdict_zone_result(verdict->zone + i));
		timeout = verdict->zone[i].state == VERDICT_ZONE_UNKNOWN
		    && strcmp(verdict->zone[i].reason, "timeout") == 0;
		if (timeout)
			stats_count_zone(stats, zone + i, STATS_ZONE_TIMEOUT);
		if (verdict->zone[i].answer_us > 0)
			stats_zone_answer(stats, zone + i,
					  verdict->zone[i].answer_us);
	}
	vcache_store(flight, verdict);
	vcache_finish(flight, verdict, CACHE_MISS);
}

/* Nothing cached: ask DNS. */
static void
vcache_ask_dns(struct vcache_flight *flight)
{
	if (dnsbl_submit(flight->cache->options.engine, flight->subject,
			 vcache_on_dns, flight) < 0)
		vcache_finish(flight, NULL, CACHE_MISS);
}

/* A cached verdict, or NULL when it is unreadable or no longer holds. */
static struct verdict *
vcache_decode(const struct vcache *cache, const char *text, size_t len,
	      time_t now, char *err, size_t errlen)
{
	const struct health *health = dnsbl_engine_health(cache->options.engine);
	struct verdict *verdict;

	verdict = codec_decode(text, len, cache->options.sites, now, err, errlen);
	if (verdict != NULL && health != NULL
	    && !health_admits(health, verdict, 0)) {
		verdict_free(verdict);
		return NULL;
	}
	/*
	 * The expiry in a value is its writer's: a host whose clock is
	 * years ahead must not make a verdict live for years here.
	 */
	if (verdict != NULL && verdict->ttl > cache->options.max_ttl)
		verdict->ttl = cache->options.max_ttl;
	return verdict;
}

/* Redis answered GET (or not in time). */
static void
vcache_on_redis(redisReply *reply, void *arg)
{
	struct vcache_flight *flight = arg;
	struct vcache *cache = flight->cache;
	struct verdict *verdict = NULL;
	time_t	now = time(NULL);
	char	err[200] = "";

	if (reply != NULL && reply->type == REDIS_REPLY_STRING)
		verdict = vcache_decode(cache, reply->str, reply->len, now,
					err, sizeof(err));
	else if (reply != NULL && reply->type != REDIS_REPLY_NIL)
		snprintf(err, sizeof(err), "%s", reply->type ==
			 REDIS_REPLY_ERROR ? reply->str : "not a string");
	if (*err != 0)
		msg_warn("redis key %s: %s; ignored", flight->key, err);
	if (verdict == NULL) {
		vcache_ask_dns(flight);
		return;
	}
	memcache_put(cache->options.memory, flight->subject, reply->str,
		     now + verdict->ttl);
	vcache_finish(flight, verdict, CACHE_REDIS);
}

/* A memory hit, handed out from the loop like every other answer. */
static void
vcache_on_memory(evutil_socket_t fd, short what, void *arg)
{
	struct vcache_flight *flight = arg;

	(void) fd;
	(void) what;
	vcache_finish(flight, flight->verdict, CACHE_MEMORY);
}

struct verdict *
vcache_cached(struct vcache *cache, const char *subject)
{
	struct verdict *verdict;
	char   *text;
	char	err[200];

	if ((text = memcache_get(cache->options.memory, subject,
				 time(NULL))) == NULL)
		return NULL;
	verdict = vcache_decode(cache, text, strlen(text), time(NULL), err,
				sizeof(err));
	free(text);
	return verdict;
}

int
vcache_submit(struct vcache *cache, const char *subject,
	      vcache_done_fn *done, void *arg)
{
	struct vcache_flight **link;
	struct vcache_flight *flight;
	struct vcache_waiter *waiter;

	if (strlen(subject) >= DOMAIN_NAME_SIZE)
		return -1;
	link = vcache_find(cache, subject);
	flight = *link;
	if ((waiter = calloc(1, sizeof(*waiter))) == NULL)
		return -1;
	waiter->done = done;
	waiter->arg = arg;
	if (flight != NULL) {
		waiter->next = flight->waiters;
		flight->waiters = waiter;
		return 0;
	}
	if ((flight = calloc(1, sizeof(*flight))) == NULL) {
		free(waiter);
		return -1;
	}
	flight->cache = cache;
	strcpy(flight->subject, subject);
	flight->waiters = waiter;
	snprintf(flight->key, sizeof(flight->key), "%s%s", cache->key_prefix,
		 subject);
	*link = flight;
	cache->in_flight++;
	if ((flight->verdict = vcache_cached(cache, subject)) != NULL) {
		if (event_base_once(cache->base, -1, EV_TIMEOUT,
				    vcache_on_memory, flight,
				    &vcache_now_tv) == 0)
			return 0;
		verdict_free(flight->verdict);
	}
	if (cache->options.store == NULL
	    || store_command(cache->options.store, vcache_on_redis, flight,
			     "GET %s", flight->key) < 0)
		vcache_ask_dns(flight);
	return 0;
}
