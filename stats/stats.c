/*
 * stats - counters of what rblmilter decided and how, added up in
 * memory and written to the Redis hash PREFIX stats once a second.
 *
 * Counting is one atomic add, so it costs a session nothing it could
 * notice.  A flush swaps each counter to zero and sends one HINCRBY per
 * non-zero counter, pipelined; whatever Redis refuses outright (it is
 * down) is added back for the next flush.  A write that times out may or
 * may not have landed and is not repeated: the totals may then run a
 * little short, never double.  A zone's health is written when its text
 * changed since it was sent, which each round of probes does (the time it
 * was checked): often enough to refill a deleted hash, and a drain ends.
 */
#include <event2/event.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "stats/metrics.h"
#include "stats/stats.h"
#include "redis/store.h"
#include "dnsbl/health.h"
#include "dnsbl/site.h"

#define STATS_PERIOD_MS	1000

static const char *const stats_names[STATS_COUNTERS] = {
	"connections", "action:reject", "action:tempfail", "action:tag",
	"action:log", "action:pass", "action:allow", "action:relay",
	"action:greylist",
	"cache:memory", "cache:redis", "cache:miss",
	"name-cache:memory", "name-cache:redis", "name-cache:miss",
	"list:relay", "list:allow", "list:deny",
	"greylist:new", "greylist:early", "greylist:passed", "greylist:off",
};

static const char *const stats_zone_names[STATS_ZONE_COUNTERS] = {
	[STATS_ZONE_QUERY] = "query",
	[STATS_ZONE_TIMEOUT] = "dns_timeout",
	[STATS_ZONE_LISTED] = "listed",
	[STATS_ZONE_DECISIVE] = "decisive",
	[STATS_ZONE_SHADOW_REJECT] = "shadow_reject",
};

struct stats {
	unsigned long counter[STATS_COUNTERS];	/* atomic */
	unsigned long (*zone_counts)[STATS_ZONE_COUNTERS];	/* per zone,
								 * atomic */
	int    *slots;			/* per zone: its metrics_zone() */
	const struct dnsbl_sites *sites;	/* IP zones, then name zones */
	const struct health *health[2];	/* of each kind's zones, by enum
					 * dnsbl_kind; NULL: not probed */
	size_t	ip_zones;		/* how many zones are IP zones */
	char	(*sent)[HEALTH_TEXT_SIZE];	/* per zone: health last sent */
	struct store *store;		/* NULL: nowhere to write */
	struct event *timer;
	char	key[256];
	char	health_key[256];
	char	host[256];		/* gethostname() */
	char	lists[256];		/* the lists' state */
	char	lists_sent[256];	/* ... as last sent */
	unsigned pending;		/* writes not answered yet */
};

/* A write was answered (or failed). */
static void
stats_on_reply(redisReply *reply, void *arg)
{
	struct stats *stats = arg;

	(void) reply;
	stats->pending--;
}

/* Send one field's count; put it back when Redis will not take it. */
static void
stats_send(struct stats *stats, unsigned long *counter, const char *field)
{
	unsigned long count = __atomic_exchange_n(counter, 0, __ATOMIC_RELAXED);

	if (count == 0)
		return;
	if (store_command(stats->store, stats_on_reply, stats,
			  "HINCRBY %s %s %lu", stats->key, field, count) < 0)
		__atomic_fetch_add(counter, count, __ATOMIC_RELAXED);
	else
		stats->pending++;
}

/* Send each zone's health that changed since it was last sent. */
static void
stats_send_health(struct stats *stats)
{
	const struct health *health;
	char	text[HEALTH_TEXT_SIZE];
	size_t	i;

	for (i = 0; i < dnsbl_sites_zone_count(stats->sites); i++) {
		if ((health = stats->health[dnsbl_sites_kind(stats->sites, i)])
		    == NULL)
			continue;
		health_describe(health, i < stats->ip_zones ? i
				: i - stats->ip_zones, text, sizeof(text));
		if (strcmp(text, stats->sent[i]) == 0)
			continue;
		if (store_command(stats->store, stats_on_reply, stats,
				  "HSET %s %s@%s %s", stats->health_key,
				  dnsbl_sites_zone(stats->sites, i), stats->host,
				  text) < 0)
			return;
		stats->pending++;
		strcpy(stats->sent[i], text);
	}
}

/* Send the lists' state when it changed since it was last sent. */
static void
stats_send_lists(struct stats *stats)
{
	if (*stats->lists == 0 || strcmp(stats->lists, stats->lists_sent) == 0
	    || store_command(stats->store, stats_on_reply, stats,
			     "HSET %s lists@%s %s", stats->health_key,
			     stats->host, stats->lists) < 0)
		return;
	stats->pending++;
	strcpy(stats->lists_sent, stats->lists);
}

void
stats_set_lists(struct stats *stats, const char *text)
{
	snprintf(stats->lists, sizeof(stats->lists), "%s", text);
}

unsigned
stats_flush(struct stats *stats)
{
	char	field[300];
	size_t	i;
	size_t	j;

	if (stats->store == NULL || store_state(stats->store) != STORE_READY)
		return stats->pending;
	for (i = 0; i < STATS_COUNTERS; i++)
		stats_send(stats, stats->counter + i, stats_names[i]);
	for (i = 0; i < dnsbl_sites_zone_count(stats->sites); i++) {
		for (j = 0; j < STATS_ZONE_COUNTERS; j++) {
			snprintf(field, sizeof(field), "%s:%s",
				 stats_zone_names[j],
				 dnsbl_sites_zone(stats->sites, i));
			stats_send(stats, stats->zone_counts[i] + j, field);
		}
	}
	stats_send_health(stats);
	stats_send_lists(stats);
	return stats->pending;
}

/* Flush once a second. */
static void
stats_on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct stats *stats = arg;
	struct timeval tv = {STATS_PERIOD_MS / 1000,
	(STATS_PERIOD_MS % 1000) * 1000};

	(void) fd;
	(void) what;
	stats_flush(stats);
	evtimer_add(stats->timer, &tv);
}

struct stats *
stats_create(struct event_base *base, struct store *store,
	     const struct dnsbl_sites *sites, const char *key,
	     const char *health_key)
{
	size_t	zones = dnsbl_sites_zone_count(sites);
	struct stats *stats;
	size_t	i;

	if ((stats = calloc(1, sizeof(*stats))) == NULL)
		return NULL;
	stats->zone_counts = calloc(zones, sizeof(*stats->zone_counts));
	stats->sent = calloc(zones, sizeof(*stats->sent));
	stats->slots = calloc(zones, sizeof(*stats->slots));
	stats->timer = evtimer_new(base, stats_on_timer, stats);
	if (stats->zone_counts == NULL || stats->sent == NULL
	    || stats->slots == NULL || stats->timer == NULL) {
		stats_free(stats);
		return NULL;
	}
	stats->sites = sites;
	for (i = 0; i < zones; i++) {
		if (dnsbl_sites_kind(sites, i) == DNSBL_IPS)
			stats->ip_zones++;
		stats->slots[i] = metrics_zone(dnsbl_sites_zone(sites, i));
	}
	stats->store = store;
	snprintf(stats->key, sizeof(stats->key), "%s", key);
	snprintf(stats->health_key, sizeof(stats->health_key), "%s",
		 health_key);
	/* A host whose name is unknown still tells its zones apart. */
	if (gethostname(stats->host, sizeof(stats->host) - 1) < 0
	    || *stats->host == 0)
		snprintf(stats->host, sizeof(stats->host), "localhost");
	event_active(stats->timer, EV_TIMEOUT, 1);
	return stats;
}

void
stats_set_health(struct stats *stats, const struct health *ip_health,
		 const struct health *names_health)
{
	stats->health[DNSBL_IPS] = ip_health;
	stats->health[DNSBL_NAMES] = names_health;
}

void
stats_free(struct stats *stats)
{
	if (stats == NULL)
		return;
	if (stats->timer != NULL)
		event_free(stats->timer);
	free(stats->sent);
	free(stats->slots);
	free(stats->zone_counts);
	free(stats);
}

void
stats_count(struct stats *stats, enum stats_counter counter)
{
	__atomic_fetch_add(stats->counter + counter, 1, __ATOMIC_RELAXED);
	metrics_count_stat(counter);
}

void
stats_count_zone(struct stats *stats, size_t zone,
		 enum stats_zone_counter counter)
{
	__atomic_fetch_add(stats->zone_counts[zone] + counter, 1,
			   __ATOMIC_RELAXED);
	metrics_zone_add(stats->slots[zone], counter);
}

void
stats_zone_result(struct stats *stats, size_t zone, unsigned result)
{
	metrics_zone_result(stats->slots[zone], result);
}

void
stats_zone_answer(struct stats *stats, size_t zone, unsigned long us)
{
	metrics_zone_answer(stats->slots[zone], us);
}

unsigned
stats_pending(const struct stats *stats)
{
	return stats->pending;
}

/* What HGETALL said, for stats_print. */
struct stats_dump {
	bool	done;
	const char *prefix;		/* of every field printed */
	char   *text;			/* "field value\n" lines, sorted */
	char	error[200];
};

/* qsort: order "field value" lines. */
static int
stats_compare(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

/* HGETALL reply: flatten and sort it. */
static void
stats_on_dump(redisReply *reply, void *arg)
{
	struct stats_dump *dump = arg;
	char  **lines;
	size_t	size = 1;
	size_t	n;
	size_t	i;

	dump->done = true;
	if (reply == NULL || reply->type != REDIS_REPLY_ARRAY) {
		snprintf(dump->error, sizeof(dump->error), "%s", reply == NULL ?
			 "no answer" : reply->type == REDIS_REPLY_ERROR ?
			 reply->str : "the key is not a hash");
		return;
	}
	n = reply->elements / 2;
	if ((lines = calloc(n + 1, sizeof(*lines))) == NULL)
		goto nomem;
	for (i = 0; i < n; i++) {
		if (asprintf(lines + i, "%s%s %s\n", dump->prefix,
			     reply->element[2 * i]->str,
			     reply->element[2 * i + 1]->str) < 0) {
			lines[i] = NULL;
			goto nomem_lines;
		}
		size += strlen(lines[i]);
	}
	qsort(lines, n, sizeof(*lines), stats_compare);
	if ((dump->text = malloc(size)) == NULL)
		goto nomem_lines;
	dump->text[0] = 0;
	for (i = 0; i < n; i++)
		strcat(dump->text, lines[i]);
nomem_lines:
	for (i = 0; i < n; i++)
		free(lines[i]);
	free(lines);
	if (dump->text != NULL)
		return;
nomem:
	snprintf(dump->error, sizeof(dump->error), "out of memory");
}

int
stats_print(struct event_base *base, struct store *store, const char *key,
	    const char *prefix, FILE *out, char *err, size_t errlen)
{
	struct stats_dump dump = {.prefix = prefix};

	if (store_command(store, stats_on_dump, &dump, "HGETALL %s", key) < 0) {
		snprintf(err, errlen, "redis is not reachable");
		return -1;
	}
	while (!dump.done)
		event_base_loop(base, EVLOOP_ONCE);
	if (dump.text == NULL) {
		snprintf(err, errlen, "HGETALL %s: %s", key, dump.error);
		return -1;
	}
	fputs(dump.text, out);
	free(dump.text);
	return 0;
}
