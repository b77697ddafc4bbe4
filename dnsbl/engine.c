/*
 * engine - look one client IP up in every DNSBL/DNSWL zone at once, or
 * one name in every domain zone.
 *
 * A lookup owns its outstanding queries.  c-ares 1.18 cannot cancel one
 * query, so when the deadline ends a lookup first, its queries are
 * detached (their lookup pointer cleared) and freed by their late
 * callback, which then touches nothing else.  A listing zone's TXT record
 * is asked for only after its A answer matched, under the same deadline;
 * a missing TXT never makes a verdict incomplete.  Zones that health.c
 * took out of scoring are not asked; they pass, as does a name zone for a
 * name too long to fit in front of it in a DNS name (site.c).
 *
 * dnsbl_engine_abort() ends every lookup at once, for a daemon that stops:
 * the verdicts it hands out have TTL 0, so that no cache keeps what a
 * stop cut short as if the zones had not answered.
 */
#include <arpa/nameser.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/addr.h"
#include "lib/domain.h"
#include "dnsbl/answer.h"
#include "dnsbl/engine.h"
#include "dnsbl/health.h"
#include "lib/msg.h"
#include "dnsbl/resolver.h"
#include "dnsbl/site.h"
#include "dnsbl/verdict.h"

/* A zone that answers nonsense is reported at most this often (seconds). */
#define ENGINE_WARN_INTERVAL	60

/*
 * Queries in flight at most.  All answers arrive on one UDP socket, whose
 * receive buffer (net.core.rmem_default, about 200 small datagrams) drops
 * what the loop has not read yet: a thousand sessions times five zones at
 * once lost a fifth of the answers.  Each zone gets an equal share of
 * this, and queries beyond its share wait in the zone's queue, in order,
 * their lookup's deadline already running: a zone that never answers
 * fills its own share only, and the zones that answer still decide.  A
 * query its lookup's deadline took out of a queue was never asked: its
 * zone is unknown(not-asked), not unknown(timeout).
 */
#define ENGINE_MAX_QUERIES	200

/* One zone's share of the queries in flight. */
struct dnsbl_zone_queue {
	unsigned inflight;		/* sent, c-ares has not called back */
	struct dnsbl_query *head;	/* waiting to be sent, oldest first */
	struct dnsbl_query **tail;
};

struct dnsbl_engine {
	struct event_base *base;
	struct resolver *resolver;
	struct health *health;		/* NULL: zones are not probed */
	struct dnsbl_options options;
	time_t *warned;			/* per zone: last bogus-answer warning */
	unsigned active;		/* lookups submitted, not finished */
	struct dnsbl_lookup *all;	/* those lookups */
	bool	aborting;		/* end lookups now, cache nothing */
	unsigned max_inflight;		/* per zone: ENGINE_MAX_QUERIES / zones */
	struct dnsbl_zone_queue *zones;	/* per zone */
};

struct dnsbl_query;

struct dnsbl_lookup {
	struct dnsbl_engine *engine;
	char	subject[DOMAIN_NAME_SIZE];	/* the IP or name, for logs */
	char	label[DOMAIN_NAME_SIZE];	/* what goes before each zone:
						 * the reversed IP, or the name */
	struct verdict *verdict;	/* filled as answers arrive */
	struct event *deadline;		/* ends the lookup; also used to
					 * finish from the loop */
	struct timespec started;
	struct dnsbl_query *queries;	/* outstanding */
	unsigned busy;			/* inside a call that may send */
	bool	unscored;		/* a zone was out of scoring */
	struct dnsbl_lookup *all_next;	/* in engine->all */
	struct dnsbl_lookup **all_prev;
	dnsbl_done_fn *done;
	void   *arg;
};

struct dnsbl_query {
	struct dnsbl_engine *engine;
	struct dnsbl_lookup *lookup;	/* NULL once the lookup has ended */
	struct dnsbl_query *next;	/* in lookup->queries */
	size_t	zone;			/* index into the site list's zones */
	int	type;			/* ns_t_a or ns_t_txt */
	bool	queued;			/* in its zone's queue, not sent */
	struct dnsbl_query *queue_next;	/* in the zone's queue */
	struct dnsbl_query **queue_prev;
};

static void engine_on_reply(void *, int, int, unsigned char *, int);

/* Monotonic seconds or milliseconds since an arbitrary point. */
static struct timespec
engine_now(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return now;
}

static unsigned
engine_ms_since(const struct timespec *then)
{
	struct timespec now = engine_now();

	return (unsigned) ((now.tv_sec - then->tv_sec) * 1000
			   + (now.tv_nsec - then->tv_nsec) / 1000000);
}

/* Microseconds since then, 1 at least: 0 says "no answer" in a verdict. */
static unsigned long
engine_us_since(const struct timespec *then)
{
	struct timespec now = engine_now();
	long	us = (now.tv_sec - then->tv_sec) * 1000000
	    + (now.tv_nsec - then->tv_nsec) / 1000;

	return us > 0 ? (unsigned long) us : 1;
}

/* Say loudly, but once a minute per zone, that a zone answers nonsense. */
static void
engine_warn_bogus(struct dnsbl_engine *engine, size_t zone,
		  const char *subject, const unsigned char bogus[4])
{
	time_t	now = engine_now().tv_sec;

	if (engine->warned[zone] != 0
	    && now - engine->warned[zone] < ENGINE_WARN_INTERVAL)
		return;
	engine->warned[zone] = now;
	msg_warn("dnsbl zone %s answered %u.%u.%u.%u for %s: not a listing; %s",
		 dnsbl_sites_zone(engine->options.sites, zone),
		 bogus[0], bogus[1], bogus[2], bogus[3], subject,
		 dnsbl_answer_advice(bogus));
}

/* Put a query on the wire: it counts in its zone's share until answered. */
static void
engine_transmit(struct dnsbl_query *query)
{
	struct dnsbl_engine *engine = query->engine;
	char	name[2 * DOMAIN_NAME_SIZE];

	engine->zones[query->zone].inflight++;
	snprintf(name, sizeof(name), "%s.%s", query->lookup->label,
		 dnsbl_sites_query_zone(engine->options.sites, query->zone));
	resolver_query(engine->resolver, name, query->type, engine_on_reply,
		       query);
}

/* Take a query that was never sent out of its zone's queue. */
static void
engine_dequeue(struct dnsbl_query *query)
{
	struct dnsbl_zone_queue *queue = query->engine->zones + query->zone;

	if ((*query->queue_prev = query->queue_next) != NULL)
		query->queue_next->queue_prev = query->queue_prev;
	else
		queue->tail = query->queue_prev;
	query->queued = false;
}

/* Send what waits in a zone's queue while the zone has room. */
static void
engine_pump(struct dnsbl_engine *engine, size_t zone)
{
	struct dnsbl_zone_queue *queue = engine->zones + zone;
	struct dnsbl_query *query;

	while (!engine->aborting && queue->inflight < engine->max_inflight
	       && (query = queue->head) != NULL) {
		engine_dequeue(query);
		engine_transmit(query);
	}
}

/*
 * Ask one zone about the lookup's client now, or queue the query when
 * the zone has its share in flight; on no memory the zone stays unknown.
 */
static void
engine_send(struct dnsbl_lookup *lookup, size_t zone, int type)
{
	struct dnsbl_engine *engine = lookup->engine;
	struct dnsbl_zone_queue *queue = engine->zones + zone;
	struct dnsbl_query *query;

	if ((query = calloc(1, sizeof(*query))) == NULL) {
		snprintf(lookup->verdict->zone[zone].reason, VERDICT_REASON_SIZE,
			 "no-memory");
		return;
	}
	query->engine = engine;
	query->lookup = lookup;
	query->zone = zone;
	query->type = type;
	query->next = lookup->queries;
	lookup->queries = query;
	if (queue->inflight < engine->max_inflight) {
		engine_transmit(query);
		return;
	}
	query->queued = true;
	query->queue_next = NULL;
	query->queue_prev = queue->tail;
	*queue->tail = query;
	queue->tail = &query->queue_next;
}

/* Does the lookup's label fit in front of a zone in a DNS name? */
static bool
engine_fits(const struct dnsbl_lookup *lookup, size_t zone)
{
	return strlen(lookup->label) + 1
	    + strlen(dnsbl_sites_query_zone(lookup->engine->options.sites,
					    zone)) <= 253;
}

/* Send the queries of a lookup, one per zone in scoring. */
static void
engine_start(struct dnsbl_lookup *lookup)
{
	struct dnsbl_engine *engine = lookup->engine;
	size_t	zones = dnsbl_sites_zone_count(engine->options.sites);
	size_t	i;

	lookup->busy++;
	for (i = 0; i < zones; i++) {
		if (engine->health != NULL && !health_scoring(engine->health, i)) {
			lookup->verdict->zone[i].state = VERDICT_ZONE_PASS;
			lookup->unscored = true;
		} else if (!engine_fits(lookup, i)) {
			lookup->verdict->zone[i].state = VERDICT_ZONE_PASS;
		} else {
			engine_send(lookup, i, ns_t_a);
		}
	}
	/* Replies that failed at once must not finish before we return. */
	if (--lookup->busy == 0 && lookup->queries == NULL)
		event_active(lookup->deadline, EV_TIMEOUT, 1);
}

/* Sum up, hand the verdict to the caller, and free the lookup. */
static void
engine_finish(struct dnsbl_lookup *lookup)
{
	struct dnsbl_engine *engine = lookup->engine;
	struct verdict *verdict = lookup->verdict;
	const struct verdict_zone *zone;
	bool	has_ttl = false;
	size_t	i;

	verdict_sum(verdict, engine->options.sites);
	verdict->ttl = engine->options.min_ttl;
	for (i = 0; i < verdict->zone_count; i++) {
		zone = verdict->zone + i;
		if (zone->state == VERDICT_ZONE_UNKNOWN) {
			/* Not the zone's fault: nobody waited for it. */
			if (engine->aborting)
				snprintf(verdict->zone[i].reason,
					 VERDICT_REASON_SIZE, "stopped");
		}
		else if (zone->has_ttl && (!has_ttl || zone->ttl < verdict->ttl)) {
			verdict->ttl = zone->ttl;
			has_ttl = true;
		}
	}
	if (verdict->ttl < engine->options.min_ttl)
		verdict->ttl = engine->options.min_ttl;
	if (verdict->ttl > engine->options.max_ttl)
		verdict->ttl = engine->options.max_ttl;
	/* Ask again soon when a zone did not answer. */
	if (!verdict->complete && verdict->ttl > engine->options.incomplete_ttl)
		verdict->ttl = engine->options.incomplete_ttl;
	/* Ask the zone again soon after it is back in scoring. */
	if (lookup->unscored && verdict->ttl > engine->options.health_interval)
		verdict->ttl = engine->options.health_interval;
	if (engine->aborting)
		verdict->ttl = 0;
	verdict->dns_ms = engine_ms_since(&lookup->started);
	event_free(lookup->deadline);
	engine->active--;
	if ((*lookup->all_prev = lookup->all_next) != NULL)
		lookup->all_next->all_prev = lookup->all_prev;
	lookup->done(verdict, lookup->arg);
	free(lookup);
}

/* The deadline passed (or every query ended during submit): finish now. */
static void
engine_on_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct dnsbl_lookup *lookup = arg;
	struct dnsbl_query *query;

	(void) fd;
	(void) what;
	while ((query = lookup->queries) != NULL) {
		lookup->queries = query->next;
		if (!query->queued) {
			/* Its late callback frees it; a zone asked waited. */
			if (query->type == ns_t_a && !lookup->engine->aborting)
				lookup->verdict->zone[query->zone].answer_us =
				    engine_us_since(&lookup->started);
			query->lookup = NULL;
			continue;
		}
		engine_dequeue(query);
		if (lookup->verdict->zone[query->zone].state
		    == VERDICT_ZONE_UNKNOWN)
			snprintf(lookup->verdict->zone[query->zone].reason,
				 VERDICT_REASON_SIZE, "not-asked");
		free(query);
	}
	engine_finish(lookup);
}

/* Take query off its lookup's outstanding list. */
static void
engine_unlink(struct dnsbl_lookup *lookup, struct dnsbl_query *query)
{
	struct dnsbl_query **link;

	for (link = &lookup->queries; *link != query; link = &(*link)->next)
		;
	*link = query->next;
}

/* c-ares callback for one query of a lookup. */
static void
engine_on_reply(void *arg, int status, int timeouts, unsigned char *reply,
		int len)
{
	struct dnsbl_query *query = arg;
	struct dnsbl_lookup *lookup = query->lookup;
	struct verdict_zone *zone;
	unsigned char bogus[4];
	bool	has_bogus;

	(void) timeouts;
	query->engine->zones[query->zone].inflight--;
	/* Room for a waiting query, unless c-ares is being torn down. */
	if (status != ARES_EDESTRUCTION)
		engine_pump(query->engine, query->zone);
	if (lookup == NULL) {
		free(query);
		return;
	}
	engine_unlink(lookup, query);
	zone = lookup->verdict->zone + query->zone;
	lookup->busy++;
	if (query->type == ns_t_txt) {
		if (status == ARES_SUCCESS)
			zone->text = dnsbl_answer_txt(reply, len);
	} else {
		zone->answer_us = engine_us_since(&lookup->started);
		dnsbl_answer_a(status, reply, len, lookup->engine->options.sites,
			       query->zone, zone, bogus, &has_bogus);
		if (has_bogus)
			engine_warn_bogus(lookup->engine, query->zone,
					  lookup->subject, bogus);
		if (zone->state == VERDICT_ZONE_LISTED && zone->score > 0
		    && lookup->engine->options.reply_text
		    && !dnsbl_sites_shadow(lookup->engine->options.sites,
					   query->zone))
			engine_send(lookup, query->zone, ns_t_txt);
	}
	free(query);
	if (--lookup->busy == 0 && lookup->queries == NULL)
		engine_finish(lookup);
}

/* The query label of subject: the reversed IP, or the name; 0 or -1. */
static int
engine_label(const struct dnsbl_engine *engine, const char *subject,
	     char label[DOMAIN_NAME_SIZE])
{
	struct addr addr;

	if (dnsbl_sites_zone_count(engine->options.sites) > 0
	    && dnsbl_sites_kind(engine->options.sites, 0) == DNSBL_NAMES) {
		if (strlen(subject) >= DOMAIN_NAME_SIZE)
			return -1;
		strcpy(label, subject);
		return 0;
	}
	if (addr_parse(subject, &addr) < 0)
		return -1;
	addr_reverse(&addr, label);
	return 0;
}

int
dnsbl_submit(struct dnsbl_engine *engine, const char *subject,
	     dnsbl_done_fn *done, void *arg)
{
	struct dnsbl_lookup *lookup;
	struct timeval timeout;
	size_t	zones = dnsbl_sites_zone_count(engine->options.sites);

	if ((lookup = calloc(1, sizeof(*lookup))) == NULL)
		return -1;
	if (engine_label(engine, subject, lookup->label) < 0) {
		free(lookup);
		return -1;
	}
	snprintf(lookup->subject, sizeof(lookup->subject), "%s", subject);
	lookup->verdict = verdict_create(zones);
	lookup->deadline = evtimer_new(engine->base, engine_on_deadline, lookup);
	if (lookup->verdict == NULL || lookup->deadline == NULL) {
		verdict_free(lookup->verdict);
		if (lookup->deadline)
			event_free(lookup->deadline);
		free(lookup);
		return -1;
	}
	lookup->engine = engine;
	lookup->done = done;
	lookup->arg = arg;
	lookup->started = engine_now();
	timeout.tv_sec = engine->options.timeout_ms / 1000;
	timeout.tv_usec = (engine->options.timeout_ms % 1000) * 1000;
	evtimer_add(lookup->deadline, &timeout);
	engine->active++;
	if ((lookup->all_next = engine->all) != NULL)
		engine->all->all_prev = &lookup->all_next;
	lookup->all_prev = &engine->all;
	engine->all = lookup;
	if (engine->aborting)
		event_active(lookup->deadline, EV_TIMEOUT, 1);
	else
		engine_start(lookup);
	return 0;
}

struct dnsbl_engine *
dnsbl_engine_create(struct event_base *base,
		    const struct dnsbl_options *options,
		    char *err, size_t errlen)
{
	size_t	zones = dnsbl_sites_zone_count(options->sites);
	struct dnsbl_engine *engine;
	unsigned try_ms;
	size_t	i;

	if (zones == 0) {
		snprintf(err, errlen, "dnsbl engine: no zones to ask");
		return NULL;
	}
	if ((engine = calloc(1, sizeof(*engine))) == NULL
	    || (engine->warned = calloc(zones, sizeof(time_t))) == NULL
	    || (engine->zones = calloc(zones, sizeof(*engine->zones))) == NULL) {
		if (engine != NULL)
			free(engine->warned);
		free(engine);
		snprintf(err, errlen, "dnsbl engine: out of memory");
		return NULL;
	}
	engine->base = base;
	engine->options = *options;
	engine->max_inflight = ENGINE_MAX_QUERIES / zones;
	if (engine->max_inflight == 0)
		engine->max_inflight = 1;
	for (i = 0; i < zones; i++)
		engine->zones[i].tail = &engine->zones[i].head;
	/* Two tries fit in the deadline: one retransmission of a lost UDP packet. */
	try_ms = options->timeout_ms / 2 < 50 ? 50 : options->timeout_ms / 2;
	engine->resolver = resolver_create(base, options->dns_servers, try_ms,
					   err, errlen);
	if (engine->resolver == NULL) {
		free(engine->zones);
		free(engine->warned);
		free(engine);
		return NULL;
	}
	if (options->health_interval > 0
	    && (engine->health = health_create(base, engine->resolver,
					       options->sites,
					       options->health_interval,
					       options->fleet)) == NULL) {
		snprintf(err, errlen, "dnsbl engine: out of memory");
		dnsbl_engine_free(engine);
		return NULL;
	}
	return engine;
}

void
dnsbl_engine_free(struct dnsbl_engine *engine)
{
	if (engine->active != 0)
		msg_panic("dnsbl_engine_free: %u lookups in flight",
			  engine->active);
	/* Probes in flight end with the resolver, before their health. */
	resolver_free(engine->resolver);
	health_free(engine->health);
	free(engine->zones);
	free(engine->warned);
	free(engine);
}

void
dnsbl_engine_abort(struct dnsbl_engine *engine)
{
	struct dnsbl_lookup *lookup;

	engine->aborting = true;
	for (lookup = engine->all; lookup != NULL; lookup = lookup->all_next)
		event_active(lookup->deadline, EV_TIMEOUT, 1);
}

const struct health *
dnsbl_engine_health(const struct dnsbl_engine *engine)
{
	return engine->health;
}
