/*
 * stack - everything that turns a client IP into list flags and a
 * verdict, built from one configuration on one event loop.
 *
 * Building and tearing down in one place keeps the order right: the store
 * goes first at the end, because its pending commands still call back
 * into the list poller and the counters.
 */
#include <event2/event.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cache/memcache.h"
#include "conf/config.h"
#include "decide/stack.h"
#include "dnsbl/engine.h"
#include "dnsbl/health.h"
#include "dnsbl/site.h"
#include "lib/hash.h"
#include "lib/msg.h"
#include "lists/lists.h"
#include "lists/listsync.h"
#include "redis/store.h"

/* Longest wait for Redis and the lists at start. */
#define SERVICE_START_S	3

struct stack {
	struct event_base *base;
	struct dnsbl_engine *engine;
	struct memcache *memory;
	struct store *store;		/* NULL without Redis */
	struct lists *lists;
	struct listsync *listsync;	/* NULL without Redis */
	struct stats *stats;
	struct vcache *vcache;
	char	stats_key[300];
	char	health_key[300];
};

/* What a cached verdict depends on besides the answers themselves. */
static uint64_t
stack_config_hash(const struct config *config)
{
	uint64_t hash = dnsbl_sites_hash(config->dnsbl_sites);

	const unsigned values[] = {
		(unsigned) config->dnsbl_threshold,
		(unsigned) config->dnsbl_allowlist_threshold,
		config->dnsbl_reply_text, config->dnsbl_min_ttl,
		config->dnsbl_max_ttl, config->dnsbl_incomplete_ttl,
	};
	return hash_bytes(hash, values, sizeof(values));
}

/* Connect to Redis, when configured. */
static int
stack_redis(struct stack *stack, const struct config *config,
	      char *err, size_t errlen)
{
	struct store_options options = {
		.host = config->redis_server.text,
		.port = config->redis_server.port,
		.sentinels = config->redis_sentinels,
		.master_name = config->redis_master_name,
		.username = config->redis_username,
		.password = config->redis_password,
		.db = (unsigned) config->redis_db,
		.timeout_ms = config->redis_timeout,
	};

	if (*config->redis_server.text == 0 && *config->redis_sentinels == 0)
		return 0;
	stack->store = store_create(stack->base, &options, err, errlen);
	return stack->store == NULL ? -1 : 0;
}

struct stack *
stack_create(struct event_base *base, const struct config *config,
	       char *err, size_t errlen)
{
	struct dnsbl_options dnsbl = {
		.sites = config->dnsbl_sites,
		.dns_servers = config->dns_servers,
		.timeout_ms = config->dnsbl_timeout,
		.min_ttl = config->dnsbl_min_ttl,
		.max_ttl = config->dnsbl_max_ttl,
		.incomplete_ttl = config->dnsbl_incomplete_ttl,
		.reply_text = config->dnsbl_reply_text,
		.health_interval = config->dnsbl_health_interval,
	};
	struct vcache_options cache = {
		.sites = config->dnsbl_sites,
		.prefix = config->redis_prefix,
		.config_hash = stack_config_hash(config),
		.max_ttl = config->dnsbl_max_ttl,
	};
	struct stack *stack;

	if ((stack = calloc(1, sizeof(*stack))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	stack->base = base;
	snprintf(stack->stats_key, sizeof(stack->stats_key), "%sstats",
		 config->redis_prefix);
	snprintf(stack->health_key, sizeof(stack->health_key), "%shealth",
		 config->redis_prefix);
	/* The list files are in the order of the LIST_* kinds. */
	_Static_assert(CONFIG_LISTS == LIST_KINDS, "one file per list kind");
	if ((stack->lists = lists_create((const char *const *)
					   config->list_files,
					   (unsigned) config->relay_min_prefix_ipv4,
					   (unsigned) config->relay_min_prefix_ipv6,
					   err, errlen)) == NULL
	    || (stack->engine = dnsbl_engine_create(base, &dnsbl, err,
						      errlen)) == NULL
	    || stack_redis(stack, config, err, errlen) < 0)
		goto fail;
	stack->memory = memcache_create((size_t) config->cache_size);
	stack->stats = stats_create(base, stack->store,
				      config->dnsbl_sites,
				      dnsbl_engine_health(stack->engine),
				      stack->stats_key, stack->health_key);
	if (stack->store != NULL && stack->stats != NULL)
		stack->listsync = listsync_create(base, stack->store,
						    stack->lists, stack->stats,
						    config->redis_prefix,
						    config->redis_list_resync);
	cache.engine = stack->engine;
	cache.memory = stack->memory;
	cache.store = stack->store;
	cache.stats = stack->stats;
	if (stack->memory == NULL || stack->stats == NULL
	    || (stack->store != NULL && stack->listsync == NULL)
	    || (stack->vcache = vcache_create(base, &cache)) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	return stack;

fail:
	stack_free(stack);
	return NULL;
}

void
stack_drain(struct stack *stack)
{
	while (stats_flush(stack->stats) > 0)
		event_base_loop(stack->base, EVLOOP_ONCE);
}

unsigned
stack_flush(struct stack *stack)
{
	return stats_flush(stack->stats);
}

void
stack_free(struct stack *stack)
{
	if (stack->store != NULL)
		store_free(stack->store);
	listsync_free(stack->listsync);
	stats_free(stack->stats);
	if (stack->vcache != NULL)
		vcache_free(stack->vcache);
	if (stack->engine != NULL)
		dnsbl_engine_free(stack->engine);
	memcache_free(stack->memory);
	lists_free(stack->lists);
	free(stack);
}

bool
stack_probed(const struct stack *stack)
{
	const struct health *health = dnsbl_engine_health(stack->engine);

	return health == NULL || health_probed(health);
}

bool
stack_admits(const struct stack *stack, const struct verdict *verdict)
{
	const struct health *health = dnsbl_engine_health(stack->engine);

	return health == NULL || health_admits(health, verdict);
}

/* Are Redis or the lists still on their way? */
static bool
stack_connecting(const struct stack *stack)
{
	if (stack->store == NULL)
		return false;
	if (store_state(stack->store) == STORE_CONNECTING)
		return true;
	return store_state(stack->store) == STORE_READY
	    && !listsync_synced(stack->listsync);
}

bool
stack_starting(const struct stack *stack)
{
	return !stack_probed(stack) || stack_connecting(stack);
}

void
stack_start(struct stack *stack, bool probes)
{
	struct timespec start;
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &start);
	while (probes ? stack_starting(stack) : stack_connecting(stack)) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec - start.tv_sec >= SERVICE_START_S)
			break;
		event_base_loop(stack->base, EVLOOP_ONCE);
	}
}

unsigned
stack_lists(struct stack *stack, const struct addr *addr)
{
	return lists_match(stack->lists, addr);
}

struct verdict *
stack_cached(struct stack *stack, const struct addr *addr)
{
	struct verdict *verdict = vcache_cached(stack->vcache, addr);

	if (verdict != NULL)
		stats_count(stack->stats, STATS_CACHE_MEMORY);
	return verdict;
}

int
stack_lookup(struct stack *stack, const struct addr *addr,
	       vcache_done_fn *done, void *arg)
{
	return vcache_submit(stack->vcache, addr, done, arg);
}

void
stack_abort(struct stack *stack)
{
	dnsbl_engine_abort(stack->engine);
}

void
stack_count(struct stack *stack, enum stats_counter counter)
{
	stats_count(stack->stats, counter);
}

int
stack_print_stats(struct stack *stack, FILE *out, char *err,
		    size_t errlen)
{
	if (stack->store == NULL) {
		snprintf(err, errlen, "no redis_server or redis_sentinels: "
			 "counters and zone health are kept in Redis");
		return -1;
	}
	if (stats_print(stack->base, stack->store, stack->stats_key, "",
			out, err, errlen) < 0)
		return -1;
	return stats_print(stack->base, stack->store, stack->health_key,
			   "health:", out, err, errlen);
}

void
stack_count_lists(struct stack *stack, unsigned lists)
{
	static const enum stats_counter counters[LIST_KINDS] = {
		STATS_LIST_RELAY, STATS_LIST_ALLOW, STATS_LIST_DENY,
	};
	size_t	kind;

	for (kind = 0; kind < LIST_KINDS; kind++)
		if (lists & (1u << kind))
			stats_count(stack->stats, counters[kind]);
}
