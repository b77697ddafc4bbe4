/*
 * service - everything that turns a client IP into list flags and a
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

#include "cache/lists.h"
#include "cache/listsync.h"
#include "cache/memcache.h"
#include "cache/service.h"
#include "cache/store.h"
#include "conf/config.h"
#include "dnsbl/engine.h"
#include "dnsbl/health.h"
#include "dnsbl/site.h"
#include "lib/msg.h"

/* Longest wait for Redis and the lists at start. */
#define SERVICE_START_S	3

struct service {
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
service_config_hash(const struct config *config)
{
	uint64_t hash = dnsbl_sites_hash(config->dnsbl_sites);

	const unsigned values[] = {
		(unsigned) config->dnsbl_threshold,
		(unsigned) config->dnsbl_allowlist_threshold,
		config->dnsbl_reply_text, config->dnsbl_min_ttl,
		config->dnsbl_max_ttl, config->dnsbl_incomplete_ttl,
	};
	size_t	i;

	for (i = 0; i < sizeof(values) / sizeof(values[0]); i++)
		hash = (hash ^ values[i]) * 1099511628211ULL;
	return hash;
}

/* Connect to Redis and start the list poller, when configured. */
static int
service_redis(struct service *service, const struct config *config,
	      char *err, size_t errlen)
{
	struct store_options options = {
		.host = config->redis_host,
		.port = config->redis_port,
		.sentinels = config->redis_sentinels,
		.master_name = config->redis_master_name,
		.username = config->redis_username,
		.password = config->redis_password,
		.db = (unsigned) config->redis_db,
		.timeout_ms = config->redis_timeout,
	};

	if (*config->redis_host == 0 && *config->redis_sentinels == 0)
		return 0;
	if ((service->store = store_create(service->base, &options, err,
					   errlen)) == NULL)
		return -1;
	service->listsync = listsync_create(service->base, service->store,
					    service->lists,
					    config->redis_prefix);
	if (service->listsync == NULL) {
		snprintf(err, errlen, "redis lists: out of memory");
		return -1;
	}
	return 0;
}

struct service *
service_create(struct event_base *base, const struct config *config,
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
		.config_hash = service_config_hash(config),
	};
	struct service *service;

	if ((service = calloc(1, sizeof(*service))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	service->base = base;
	snprintf(service->stats_key, sizeof(service->stats_key), "%sstats",
		 config->redis_prefix);
	snprintf(service->health_key, sizeof(service->health_key), "%shealth",
		 config->redis_prefix);
	if ((service->lists = lists_create((const char *const *)
					   config->list_files,
					   (unsigned) config->relay_min_prefix_ipv4,
					   (unsigned) config->relay_min_prefix_ipv6,
					   err, errlen)) == NULL
	    || (service->engine = dnsbl_engine_create(base, &dnsbl, err,
						      errlen)) == NULL
	    || service_redis(service, config, err, errlen) < 0)
		goto fail;
	service->memory = memcache_create((size_t) config->cache_size);
	service->stats = stats_create(base, service->store,
				      config->dnsbl_sites,
				      dnsbl_engine_health(service->engine),
				      service->stats_key, service->health_key);
	cache.engine = service->engine;
	cache.memory = service->memory;
	cache.store = service->store;
	cache.stats = service->stats;
	if (service->memory == NULL || service->stats == NULL
	    || (service->vcache = vcache_create(base, &cache)) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	return service;

fail:
	service_free(service);
	return NULL;
}

void
service_drain(struct service *service)
{
	while (stats_flush(service->stats) > 0)
		event_base_loop(service->base, EVLOOP_ONCE);
}

unsigned
service_flush(struct service *service)
{
	return stats_flush(service->stats);
}

void
service_free(struct service *service)
{
	if (service->store != NULL)
		store_free(service->store);
	listsync_free(service->listsync);
	stats_free(service->stats);
	if (service->vcache != NULL)
		vcache_free(service->vcache);
	if (service->engine != NULL)
		dnsbl_engine_free(service->engine);
	memcache_free(service->memory);
	lists_free(service->lists);
	free(service);
}

bool
service_starting(const struct service *service)
{
	const struct health *health = dnsbl_engine_health(service->engine);

	if (health != NULL && !health_probed(health))
		return true;
	if (service->store == NULL)
		return false;
	if (store_state(service->store) == STORE_CONNECTING)
		return true;
	return store_state(service->store) == STORE_READY
	    && !listsync_synced(service->listsync);
}

void
service_start(struct service *service)
{
	struct timespec start;
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &start);
	while (service_starting(service)) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec - start.tv_sec >= SERVICE_START_S)
			break;
		event_base_loop(service->base, EVLOOP_ONCE);
	}
}

unsigned
service_lists(struct service *service, const struct addr *addr)
{
	return lists_match(service->lists, addr);
}

struct verdict *
service_cached(struct service *service, const struct addr *addr)
{
	struct verdict *verdict = vcache_cached(service->vcache, addr);

	if (verdict != NULL)
		stats_count(service->stats, STATS_CACHE_MEMORY);
	return verdict;
}

int
service_lookup(struct service *service, const struct addr *addr,
	       vcache_done_fn *done, void *arg)
{
	return vcache_submit(service->vcache, addr, done, arg);
}

void
service_abort(struct service *service)
{
	dnsbl_engine_abort(service->engine);
}

void
service_count(struct service *service, enum stats_counter counter)
{
	stats_count(service->stats, counter);
}

int
service_print_stats(struct service *service, FILE *out, char *err,
		    size_t errlen)
{
	if (service->store == NULL) {
		snprintf(err, errlen, "no redis_server or redis_sentinels: "
			 "counters and zone health are kept in Redis");
		return -1;
	}
	if (stats_print(service->base, service->store, service->stats_key, "",
			out, err, errlen) < 0)
		return -1;
	return stats_print(service->base, service->store, service->health_key,
			   "health:", out, err, errlen);
}

void
service_count_lists(struct service *service, unsigned lists)
{
	static const enum stats_counter counters[LIST_KINDS] = {
		STATS_LIST_RELAY, STATS_LIST_ALLOW, STATS_LIST_DENY,
	};
	size_t	kind;

	for (kind = 0; kind < LIST_KINDS; kind++)
		if (lists & (1u << kind))
			stats_count(service->stats, counters[kind]);
}
