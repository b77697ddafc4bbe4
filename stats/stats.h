/*
 * stats - counters of what rblmilter decided and how, added up in
 * memory and written to the Redis hash PREFIX stats once a second; and
 * each zone's health as this host sees it, in the hash PREFIX health.
 *
 * Any thread may count; only the loop thread writes to Redis.  The fleet
 * shares the hashes: HINCRBY adds each host's counts to the total, and
 * each host has a health field of its own per zone, and one for its
 * client lists.
 */
#ifndef RBL_STATS_STATS_H
#define RBL_STATS_STATS_H

#include <stddef.h>
#include <stdio.h>

struct dnsbl_sites;
struct event_base;
struct health;
struct stats;
struct store;

enum stats_counter {
	STATS_CONNECTIONS,		/* clients judged */
	STATS_ACTION_REJECT,		/* decisions, by what they did, in
					 * the order of enum decision_kind */
	STATS_ACTION_TEMPFAIL,
	STATS_ACTION_TAG,
	STATS_ACTION_LOG,		/* action = log: would have rejected */
	STATS_ACTION_PASS,
	STATS_ACTION_ALLOW,		/* allow list or DNSWL */
	STATS_ACTION_RELAY,		/* relay refusals */
	STATS_ACTION_GREYLIST,		/* recipients greylisted */
	STATS_CACHE_MEMORY,		/* verdicts found in memory */
	STATS_CACHE_REDIS,		/* ... in Redis */
	STATS_CACHE_MISS,		/* ... looked up in DNS */
	STATS_NAME_MEMORY,		/* name verdicts found in memory */
	STATS_NAME_REDIS,		/* ... in Redis */
	STATS_NAME_MISS,		/* ... looked up in DNS */
	STATS_LIST_RELAY,		/* clients on a list */
	STATS_LIST_ALLOW,
	STATS_LIST_DENY,
	STATS_GREYLIST_NEW,		/* greylisting's answers, by outcome */
	STATS_GREYLIST_EARLY,
	STATS_GREYLIST_PASSED,
	STATS_GREYLIST_OFF,
	STATS_COUNTERS
};

/*
 * Count for zones (the joined list of IP and name zones: their DNS
 * timeouts are counted too) and flush to key through store (NULL: count
 * only) every second, with the zones' health (stats_set_health()) to
 * health_key, "ZONE@HOST" fields.  NULL: out of memory.
 */
struct stats *stats_create(struct event_base *base, struct store *store,
			   const struct dnsbl_sites *sites, const char *key,
			   const char *health_key);

/*
 * Where the zones' health comes from: that of the IP zones from
 * ip_health, of the name zones from names_health (NULL: not probed).
 * Both must outlive the stats.
 */
void	stats_set_health(struct stats *stats, const struct health *ip_health,
			 const struct health *names_health);

/* Write what is left; pending writes still answer through the store. */
void	stats_free(struct stats *stats);

/* Each count also goes to this process's metrics (metrics.h). */
void	stats_count(struct stats *stats, enum stats_counter counter);
/* What is counted per zone, as "FIELD:ZONE" (the zone of the joined list). */
enum stats_zone_counter {
	STATS_ZONE_QUERY,		/* query: asked in a DNS lookup */
	STATS_ZONE_TIMEOUT,		/* dns_timeout: ... no answer in time */
	STATS_ZONE_LISTED,		/* listed: listed a decision's client */
	STATS_ZONE_DECISIVE,		/* decisive: a rejection needed it */
	STATS_ZONE_SHADOW_REJECT,	/* shadow_reject: a shadow zone's
					 * would-be rejection */
	STATS_ZONE_COUNTERS
};

void	stats_count_zone(struct stats *stats, size_t zone,
			 enum stats_zone_counter counter);

/* How a query of zone ended (enum verdict_result), for the metrics. */
void	stats_zone_result(struct stats *stats, size_t zone, unsigned result);

/*
 * A DNS lookup asked zone, which answered after us (or timed out then):
 * the process's metrics only.
 */
void	stats_zone_answer(struct stats *stats, size_t zone, unsigned long us);

/*
 * How current this host's client lists are (listsync's words), written
 * to health_key as "lists@HOST" when it changes.
 */
void	stats_set_lists(struct stats *stats, const char *text);

/* Send the counts now; returns the writes sent and not yet answered. */
unsigned stats_flush(struct stats *stats);

/* Writes of stats_flush() still waiting for an answer. */
unsigned stats_pending(const struct stats *stats);

/*
 * Print the hash at key, "PREFIXfield value" per line, sorted; -1 on
 * failure.
 */
int	stats_print(struct event_base *base, struct store *store,
		    const char *key, const char *prefix, FILE *out,
		    char *err, size_t errlen);

#endif
