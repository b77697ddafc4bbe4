/*
 * metrics - this process's numbers since it started, in memory.
 *
 * One static table, so that every generation and every thread count into
 * the same numbers: counting is one atomic add, as in stats.c.  Zones are
 * counted by the name they are shown with, in slots made at a zone's
 * first stats_create() and kept to the end: a reload that keeps a zone
 * keeps its counts, and one that drops it leaves them as they were (a
 * counter never goes back).  A slot's name is written once, under the
 * lock, before the count of slots that makes it visible.
 *
 * A histogram's count is the sum of its buckets, read one by one, so a
 * scrape's buckets and count always agree; its sum may run a count ahead
 * or behind.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "dnsbl/verdict.h"
#include "lib/msg.h"
#include "stats/metrics.h"

const unsigned long metrics_bounds_us[METRICS_BUCKETS] = {
	1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000,
	1000000, 2500000, 5000000, 10000000,
};

/* A zone's numbers. */
struct metrics_zone {
	char	name[256];		/* as shown; set once */
	unsigned long counts[STATS_ZONE_COUNTERS];	/* atomic, as
							 * stats_count_zone() */
	unsigned long results[VERDICT_RESULTS];	/* atomic: queries by how
						 * they ended */
	struct metrics_histogram answers;	/* atomic */
};

static struct {
	unsigned long decisions[METRICS_FRONTS][METRICS_KINDS]
	[METRICS_REASONS];		/* atomic, all of these */
	unsigned long stats[STATS_COUNTERS];
	long	gauges[METRICS_GAUGES];
	unsigned long reloads[2];	/* failed, ok */
	unsigned long redis_errors;	/* Redis commands failed, every
					 * generation's */
	struct metrics_histogram session_waits[METRICS_FRONTS];
	pthread_mutex_t lock;		/* guards making zone slots */
	size_t	zones;			/* slots made (atomic) */
	struct metrics_zone zone[METRICS_ZONES];
} metrics = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* Add to a counter. */
static void
metrics_add(unsigned long *counter, unsigned long n)
{
	__atomic_fetch_add(counter, n, __ATOMIC_RELAXED);
}

static unsigned long
metrics_load(const unsigned long *counter)
{
	return __atomic_load_n(counter, __ATOMIC_RELAXED);
}

/* Count one duration in a histogram. */
static void
metrics_observe(struct metrics_histogram *histogram, unsigned long us)
{
	size_t	i;

	for (i = 0; i < METRICS_BUCKETS && us > metrics_bounds_us[i]; i++)
		;
	metrics_add(histogram->bucket + i, 1);
	metrics_add(&histogram->sum_us, us);
}

/* Copy a histogram, bucket by bucket. */
static void
metrics_copy(const struct metrics_histogram *histogram,
	     struct metrics_histogram *copy)
{
	size_t	i;

	for (i = 0; i <= METRICS_BUCKETS; i++)
		copy->bucket[i] = metrics_load(histogram->bucket + i);
	copy->sum_us = metrics_load(&histogram->sum_us);
}

void
metrics_count_decision(enum metrics_front front, unsigned kind,
		       unsigned reason)
{
	if (kind < METRICS_KINDS && reason < METRICS_REASONS)
		metrics_add(&metrics.decisions[front][kind][reason], 1);
}

void
metrics_count_stat(enum stats_counter counter)
{
	metrics_add(metrics.stats + counter, 1);
}

void
metrics_gauge_add(enum metrics_gauge gauge, long delta)
{
	__atomic_fetch_add(metrics.gauges + gauge, delta, __ATOMIC_RELAXED);
}

void
metrics_count_reload(bool ok)
{
	metrics_add(metrics.reloads + ok, 1);
}

void
metrics_count_redis_error(void)
{
	metrics_add(&metrics.redis_errors, 1);
}

int
metrics_zone(const char *name)
{
	static bool warned;
	size_t	i;
	int	slot = -1;

	pthread_mutex_lock(&metrics.lock);
	for (i = 0; i < metrics.zones; i++)
		if (strcmp(metrics.zone[i].name, name) == 0)
			break;
	if (i < metrics.zones) {
		slot = (int) i;
	} else if (i < METRICS_ZONES) {
		snprintf(metrics.zone[i].name, sizeof(metrics.zone[i].name),
			 "%s", name);
		__atomic_store_n(&metrics.zones, i + 1, __ATOMIC_RELEASE);
		slot = (int) i;
	} else if (!warned) {
		warned = true;
		msg_warn("metrics: more than %d zones since the start; zone %s "
			 "and later ones are not counted", METRICS_ZONES, name);
	}
	pthread_mutex_unlock(&metrics.lock);
	return slot;
}

void
metrics_zone_result(int zone, unsigned result)
{
	if (zone >= 0 && result < VERDICT_RESULTS)
		metrics_add(metrics.zone[zone].results + result, 1);
}

unsigned long
metrics_zone_results(size_t zone, unsigned result)
{
	return metrics_load(metrics.zone[zone].results + result);
}

void
metrics_zone_add(int zone, enum stats_zone_counter counter)
{
	if (zone >= 0)
		metrics_add(metrics.zone[zone].counts + counter, 1);
}

void
metrics_zone_answer(int zone, unsigned long us)
{
	if (zone >= 0)
		metrics_observe(&metrics.zone[zone].answers, us);
}

void
metrics_session_wait(enum metrics_front front, const struct timespec *start)
{
	struct timespec now;
	long	us;

	clock_gettime(CLOCK_MONOTONIC, &now);
	us = (now.tv_sec - start->tv_sec) * 1000000
	    + (now.tv_nsec - start->tv_nsec) / 1000;
	metrics_observe(metrics.session_waits + front,
			us > 0 ? (unsigned long) us : 0);
}

unsigned long
metrics_decisions(enum metrics_front front, unsigned kind, unsigned reason)
{
	return metrics_load(&metrics.decisions[front][kind][reason]);
}

unsigned long
metrics_stat(enum stats_counter counter)
{
	return metrics_load(metrics.stats + counter);
}

long
metrics_gauge(enum metrics_gauge gauge)
{
	return __atomic_load_n(metrics.gauges + gauge, __ATOMIC_RELAXED);
}

unsigned long
metrics_reloads(bool ok)
{
	return metrics_load(metrics.reloads + ok);
}

unsigned long
metrics_redis_errors(void)
{
	return metrics_load(&metrics.redis_errors);
}

size_t
metrics_zone_count(void)
{
	return __atomic_load_n(&metrics.zones, __ATOMIC_ACQUIRE);
}

const char *
metrics_zone_name(size_t zone)
{
	return metrics.zone[zone].name;
}

unsigned long
metrics_zone_events(size_t zone, enum stats_zone_counter counter)
{
	return metrics_load(metrics.zone[zone].counts + counter);
}

void
metrics_zone_answers(size_t zone, struct metrics_histogram *copy)
{
	metrics_copy(&metrics.zone[zone].answers, copy);
}

void
metrics_session_waits(enum metrics_front front,
		      struct metrics_histogram *copy)
{
	metrics_copy(metrics.session_waits + front, copy);
}
