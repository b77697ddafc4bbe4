/*
 * stack - everything that turns a client IP (and the names it gave) into
 * list flags and a verdict, built from one configuration on one event
 * loop.
 *
 * IP zones and domain zones each have an engine, a memory cache and a
 * verdict cache of their own (the domain ones only when rhsbl_sites names
 * a zone): a verdict is about one IP or one name, cached under its own
 * key, and one decision joins them (verdict_join()).
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
#include "decide/decision.h"
#include "decide/fleetprobe.h"
#include "decide/stack.h"
#include "dnsbl/engine.h"
#include "dnsbl/health.h"
#include "dnsbl/site.h"
#include "dnsbl/verdict.h"
#include "greylist/greylist.h"
#include "lib/domain.h"
#include "lib/hash.h"
#include "lib/msg.h"
#include "lists/lists.h"
#include "lists/listsync.h"
#include "redis/store.h"
#include "stats/metrics.h"

/* Longest wait for Redis and the lists at start. */
#define SERVICE_START_S	3

/* The engine and caches of one kind of zones. */
struct stack_zones {
	struct fleetprobe *prober;	/* with Redis and probes, or NULL */
	struct dnsbl_engine *engine;
	struct memcache *memory;
	struct vcache *vcache;
};

struct stack {
	struct event_base *base;
	const struct config *config;
	struct stack_zones kind[2];	/* by enum dnsbl_kind; the names'
					 * all NULL without rhsbl_sites */
	struct domain_suffixes *suffixes;	/* with rhsbl_sites */
	struct store *store;		/* NULL without Redis */
	struct lists *lists;
	struct listsync *listsync;	/* NULL without Redis */
	struct stats *stats;
	struct greylist *greylist;	/* NULL: greylisting is off */
	char	stats_key[300];
	char	health_key[300];
};

/* What a cached verdict depends on besides the answers themselves. */
static uint64_t
stack_config_hash(const struct config *config, const struct dnsbl_sites *sites)
{
	uint64_t hash = dnsbl_sites_hash(sites);

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
		.failed = metrics_count_redis_error,
	};

	if (*config->redis_server.text == 0 && *config->redis_sentinels == 0)
		return 0;
	stack->store = store_create(stack->base, &options, err, errlen);
	return stack->store == NULL ? -1 : 0;
}

/* The engine and caches of one kind of zones. */
static int
stack_zones(struct stack *stack, enum dnsbl_kind kind,
	    const struct dnsbl_sites *sites, char *err, size_t errlen)
{
	const struct config *config = stack->config;
	struct stack_zones *zones = stack->kind + kind;
	struct dnsbl_options dnsbl = {
		.sites = sites,
		.dns_servers = config->dns_servers,
		.timeout_ms = config->dnsbl_timeout,
		.min_ttl = config->dnsbl_min_ttl,
		.max_ttl = config->dnsbl_max_ttl,
		.incomplete_ttl = config->dnsbl_incomplete_ttl,
		.reply_text = config->dnsbl_reply_text,
		.health_interval = config->dnsbl_health_interval,
	};
	struct vcache_options cache = {
		.sites = sites,
		.names = kind == DNSBL_NAMES,
		.zone_offset = kind == DNSBL_NAMES ?
		dnsbl_sites_zone_count(config->dnsbl_sites) : 0,
		.prefix = config->redis_prefix,
		.config_hash = stack_config_hash(config, sites),
		.max_ttl = config->dnsbl_max_ttl,
		.stats = stack->stats,
		.store = stack->store,
	};

	if ((zones->memory = memcache_create((size_t) config->cache_size))
	    == NULL
	    || (stack->store != NULL && config->dnsbl_health_interval > 0
		&& (zones->prober = fleetprobe_create(stack->store,
						      config->redis_prefix,
						      kind == DNSBL_NAMES ?
						      "name" : "ip",
						      config->dnsbl_health_interval))
		== NULL)) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (zones->prober != NULL)
		dnsbl.fleet = fleetprobe_hooks(zones->prober);
	if ((zones->engine = dnsbl_engine_create(stack->base, &dnsbl, err,
						 errlen)) == NULL)
		return -1;
	cache.engine = zones->engine;
	cache.memory = zones->memory;
	if ((zones->vcache = vcache_create(stack->base, &cache)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

/* The health of a kind's zones, or NULL (none, or not probed). */
static const struct health *
stack_health(const struct stack *stack, enum dnsbl_kind kind)
{
	return stack->kind[kind].engine != NULL ?
	    dnsbl_engine_health(stack->kind[kind].engine) : NULL;
}

/* The greylisting state, when greylisting is on. */
static int
stack_greylist_create(struct stack *stack, const struct config *config,
		      char *err, size_t errlen)
{
	struct greylist_options options = {
		.store = stack->store,
		.prefix = config->redis_prefix,
		.delay = config->greylist_delay,
		.max_wait = config->greylist_max_wait,
		.pass_ttl = config->greylist_pass_ttl,
		.memory_max = (unsigned) config->cache_size,
	};

	if (!config_greylists(config))
		return 0;
	stack->greylist = greylist_create(&options, err, errlen);
	return stack->greylist == NULL ? -1 : 0;
}

struct stack *
stack_create(struct event_base *base, const struct config *config,
	       char *err, size_t errlen)
{
	bool	names = dnsbl_sites_zone_count(config->rhsbl_sites) > 0;
	struct stack *stack;

	if ((stack = calloc(1, sizeof(*stack))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	stack->base = base;
	stack->config = config;
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
	    || stack_redis(stack, config, err, errlen) < 0
	    || (names && (stack->suffixes = domain_suffixes_load(err, errlen))
		== NULL))
		goto fail;
	/* The counters first: the caches count into them. */
	if ((stack->stats = stats_create(base, stack->store,
					 config->scored_sites, stack->stats_key,
					 stack->health_key)) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if (stack_zones(stack, DNSBL_IPS, config->dnsbl_sites, err, errlen) < 0
	    || (names && stack_zones(stack, DNSBL_NAMES, config->rhsbl_sites,
				     err, errlen) < 0))
		goto fail;
	stats_set_health(stack->stats, stack_health(stack, DNSBL_IPS),
			 stack_health(stack, DNSBL_NAMES));
	if (stack->store != NULL
	    && (stack->listsync = listsync_create(base, stack->store,
						  stack->lists, stack->stats,
						  config->redis_prefix,
						  config->redis_list_resync))
	    == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if (stack_greylist_create(stack, config, err, errlen) < 0)
		goto fail;
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
	struct stack_zones *zones;
	size_t	kind;

	for (kind = 0; kind < 2; kind++)
		fleetprobe_close(stack->kind[kind].prober);
	if (stack->store != NULL)
		store_free(stack->store);
	listsync_free(stack->listsync);
	greylist_free(stack->greylist);
	for (kind = 0; kind < 2; kind++) {
		zones = stack->kind + kind;
		if (zones->vcache != NULL)
			vcache_free(zones->vcache);
		if (zones->engine != NULL)
			dnsbl_engine_free(zones->engine);
		fleetprobe_free(zones->prober);
		memcache_free(zones->memory);
	}
	stats_free(stack->stats);
	domain_suffixes_free(stack->suffixes);
	lists_free(stack->lists);
	free(stack);
}

bool
stack_probed(const struct stack *stack)
{
	const struct health *health;
	size_t	kind;

	for (kind = 0; kind < 2; kind++)
		if ((health = stack_health(stack, kind)) != NULL
		    && !health_probed(health))
			return false;
	return true;
}

bool
stack_admits(const struct stack *stack, const struct verdict *verdict)
{
	const struct health *ips = stack_health(stack, DNSBL_IPS);
	const struct health *names = stack_health(stack, DNSBL_NAMES);

	return (ips == NULL || health_admits(ips, verdict, 0))
	    && (names == NULL
		|| health_admits(names, verdict,
				 dnsbl_sites_zone_count(stack->config
							->dnsbl_sites)));
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
stack_cached(struct stack *stack, enum dnsbl_kind kind, const char *subject)
{
	struct verdict *verdict;

	if (stack->kind[kind].vcache == NULL
	    || (verdict = vcache_cached(stack->kind[kind].vcache, subject))
	    == NULL)
		return NULL;
	stats_count(stack->stats, kind == DNSBL_NAMES ? STATS_NAME_MEMORY
		    : STATS_CACHE_MEMORY);
	return verdict;
}

int
stack_lookup(struct stack *stack, enum dnsbl_kind kind, const char *subject,
	     vcache_done_fn *done, void *arg)
{
	if (stack->kind[kind].vcache == NULL)
		return -1;
	return vcache_submit(stack->kind[kind].vcache, subject, done, arg);
}

size_t
stack_names(const struct stack *stack, int role, const char *text,
	    char out[2][DOMAIN_NAME_SIZE])
{
	char	name[DOMAIN_NAME_SIZE];

	if (stack->suffixes == NULL || text == NULL
	    || !(stack->config->rhsbl_names & (1u << role))
	    || domain_from_role(role, text, name) < 0)
		return 0;
	return domain_lookup_names(stack->suffixes, name, out);
}

struct verdict *
stack_join(const struct stack *stack, const struct verdict *ip,
	   const struct verdict_name *names, size_t count)
{
	return verdict_join(ip, stack->config->rhsbl_sites, names, count);
}

void
stack_greylist_triplet(const struct stack *stack, const struct addr *client,
		       const char *sender, const char *recipient,
		       struct greylist_triplet *triplet)
{
	greylist_triplet(triplet, client, sender, recipient,
			 (unsigned) stack->config->greylist_network_v4,
			 (unsigned) stack->config->greylist_network_v6);
}

void
stack_greylist(struct stack *stack, const struct greylist_triplet *triplet,
	       greylist_done_fn *done, void *arg)
{
	if (stack->greylist == NULL)
		done(GREYLIST_OFF, 0, arg);
	else
		greylist_check(stack->greylist, triplet, time(NULL), done, arg);
}

void
stack_abort(struct stack *stack)
{
	size_t	kind;

	for (kind = 0; kind < 2; kind++)
		if (stack->kind[kind].engine != NULL)
			dnsbl_engine_abort(stack->kind[kind].engine);
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
stack_count_decision(struct stack *stack, const struct decision *decision,
		     const struct verdict *verdict)
{
	const struct verdict_zone *zone;
	bool	shadow_rejects;
	size_t	i;

	static const enum stats_counter greylist[GREYLIST_OUTCOMES] = {
		[GREYLIST_NEW] = STATS_GREYLIST_NEW,
		[GREYLIST_EARLY] = STATS_GREYLIST_EARLY,
		[GREYLIST_PASSED] = STATS_GREYLIST_PASSED,
		[GREYLIST_OFF] = STATS_GREYLIST_OFF,
	};

	stats_count(stack->stats, decision_counter(decision));
	if (decision->greylist != GREYLIST_NONE)
		stats_count(stack->stats, greylist[decision->greylist]);
	if (verdict == NULL)
		return;
	shadow_rejects = decision->has_shadow
	    && decision->shadow_kind == DECISION_KIND_REJECT
	    && decision_kind(decision) != DECISION_KIND_REJECT;
	for (i = 0; i < verdict->zone_count; i++) {
		zone = verdict->zone + i;
		if (zone->state != VERDICT_ZONE_LISTED)
			continue;
		if (!zone->shadow)
			stats_count_zone(stack->stats, i, STATS_ZONE_LISTED);
		else if (shadow_rejects)
			stats_count_zone(stack->stats, i,
					 STATS_ZONE_SHADOW_REJECT);
		if (i < 64 && (decision->decisive & (UINT64_C(1) << i)))
			stats_count_zone(stack->stats, i, STATS_ZONE_DECISIVE);
	}
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

enum health_state
stack_zone_health(const struct stack *stack, size_t zone)
{
	size_t	ips = dnsbl_sites_zone_count(stack->config->dnsbl_sites);
	const struct health *health = stack_health(stack, zone < ips ?
						   DNSBL_IPS : DNSBL_NAMES);

	return health == NULL ? HEALTH_UNKNOWN
	    : health_state(health, zone < ips ? zone : zone - ips);
}

int
stack_redis_up(const struct stack *stack)
{
	return stack->store == NULL ? -1
	    : store_state(stack->store) == STORE_READY;
}

void
stack_list_entries(const struct stack *stack, size_t entries[LIST_KINDS])
{
	lists_entries(stack->lists, entries);
}
