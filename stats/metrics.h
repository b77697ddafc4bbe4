/*
 * metrics - this process's numbers since it started, in memory, for the
 * Prometheus endpoint (metrics/): decisions by front end, action and
 * reason, the stats.c counters added up, each zone's DNS timeouts and
 * answer times, milter sessions and policy connections open, reloads,
 * Redis commands that failed, and how long milter sessions waited for
 * their verdict.
 *
 * Process-wide, unlike a generation's stats (stats.h): written nowhere,
 * and not started again by a reload.  Any thread counts (atomic adds);
 * the loop thread reads them for a scrape.  What a generation knows now
 * (zone health, Redis, the lists) is not kept here: the endpoint asks the
 * generation in force.
 */
#ifndef RBL_STATS_METRICS_H
#define RBL_STATS_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "stats/stats.h"

/* Who decided. */
enum metrics_front {
	METRICS_MILTER, METRICS_POLICY, METRICS_CHECK, METRICS_FRONTS
};

/* Room for decide/'s enum decision_kind and enum decision_reason. */
#define METRICS_KINDS		8
#define METRICS_REASONS		16

/* What is open now. */
enum metrics_gauge {
	METRICS_SESSIONS,		/* milter sessions */
	METRICS_POLICY_CONNECTIONS,	/* connections from Postfix */
	METRICS_GAUGES
};

/* Zones counted at most, by name, since the start. */
#define METRICS_ZONES		256

/* Finite bucket bounds of a histogram; one more bucket holds the rest. */
#define METRICS_BUCKETS		13

/* The bounds, in microseconds (1 ms to 10 s), in increasing order. */
extern const unsigned long metrics_bounds_us[METRICS_BUCKETS];

/* A histogram of durations, or a copy of one (metrics_*_read()). */
struct metrics_histogram {
	unsigned long bucket[METRICS_BUCKETS + 1];	/* not cumulative: up to
							 * each bound, then
							 * over the last */
	unsigned long sum_us;
};

/* A decision that a front end logs (decision_kind(), its reason). */
void	metrics_count_decision(enum metrics_front front, unsigned kind,
			       unsigned reason);

/* One count of a stats.h counter (stats_count() adds it here). */
void	metrics_count_stat(enum stats_counter counter);

void	metrics_gauge_add(enum metrics_gauge gauge, long delta);

/* A SIGHUP's reload, put in force or refused. */
void	metrics_count_reload(bool ok);

/*
 * A Redis command failed, in any generation (the store's failed hook):
 * counted for the process, so that a reload, which makes new Redis
 * clients, does not start the count again.
 */
void	metrics_count_redis_error(void);

/*
 * The slot of the zone called name (as shown: dnsbl_sites_zone()), made
 * at its first call; -1 once METRICS_ZONES names are taken.  Zones keep
 * their slot through reloads.
 */
int	metrics_zone(const char *name);

/*
 * One count of what happened to a zone (slot; -1: none), as
 * stats_count_zone() counts it: a timeout, a listing, a rejection that
 * needed it, a shadow zone's would-be rejection.
 */
void	metrics_zone_add(int zone, enum stats_zone_counter counter);

/* How a query of a zone (slot; -1: none) ended (enum verdict_result). */
void	metrics_zone_result(int zone, unsigned result);

/* A zone (slot; -1: none) was asked, and answered (or not) after us. */
void	metrics_zone_answer(int zone, unsigned long us);

/*
 * A milter session (at reject_stage) or a policy request waited for its
 * verdict since start (CLOCK_MONOTONIC).
 */
void	metrics_session_wait(enum metrics_front front,
			     const struct timespec *start);

/* Reading, for a scrape. */
unsigned long metrics_decisions(enum metrics_front front, unsigned kind,
				unsigned reason);
unsigned long metrics_stat(enum stats_counter counter);
long	metrics_gauge(enum metrics_gauge gauge);
unsigned long metrics_reloads(bool ok);
unsigned long metrics_redis_errors(void);
size_t	metrics_zone_count(void);
const char *metrics_zone_name(size_t zone);
unsigned long metrics_zone_results(size_t zone, unsigned result);
unsigned long metrics_zone_events(size_t zone,
				  enum stats_zone_counter counter);
void	metrics_zone_answers(size_t zone, struct metrics_histogram *copy);
void	metrics_session_waits(enum metrics_front front,
			      struct metrics_histogram *copy);

#endif
