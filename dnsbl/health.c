/*
 * health - is each DNSBL/DNSWL zone fit to be scored?  RFC 5782 section 5
 * test points, asked of every zone each round.
 *
 * A round asks every zone for 2.0.0.127 and 1.0.0.127 (a domain zone for
 * TEST and INVALID, RFC 5782 section 5) at once and ends
 * when c-ares has answered or given up on all of them (two tries within
 * about dnsbl_timeout); the next round starts an interval after that, so
 * rounds never overlap and one set of query slots serves them all.
 *
 * Judging a zone: an answer in 127.255.255/24 or outside 127/8 to either
 * test point means the list refuses us (or is dead); any listing of
 * 127.0.0.1 (INVALID) means it lists the world.  Both take the zone out
 * of scoring,
 * logged as errors at every round until a round finds it well again.  Not
 * listing 127.0.0.2 is only warned about: many small lists never do.  A
 * round with no usable answer (timeout, SERVFAIL) changes nothing: a slow
 * resolver is no reason to drop a zone, nor to take a bad one back.
 *
 * IPv6 test points are not asked: rblmilter looks IPv4-mapped clients up
 * under their IPv4 names, so ::ffff:127.0.0.2 is the same query, and a
 * zone without IPv6 data would fail the nibble form for no fault.  A zone
 * that lists the world through a wildcard lists 127.0.0.1 too.
 *
 * A fleet (health_fleet) shares one prober per round: the host that
 * claims the round probes and publishes each zone's two answers,
 * "STAMP\nZONE ANSWER ANSWER\n..." (ANSWER: U unanswered, N not listed,
 * L127.0.0.2 listed, R127.255.255.254 refused), and the others judge
 * those answers as their own.  A host that finds nothing published within
 * an interval probes itself, so a dead prober costs one round.
 *
 * The state of each zone is an atomic word: session threads read it
 * through the cache; everything else is the loop thread's.
 */
#include <ares.h>
#include <arpa/nameser.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dnsbl/answer.h"
#include "dnsbl/health.h"
#include "dnsbl/resolver.h"
#include "dnsbl/site.h"
#include "dnsbl/verdict.h"
#include "lib/addr.h"
#include "lib/msg.h"

/* A test point, as asked and as shown. */
struct health_point {
	const char *label;
	const char *text;
};

/* The test points of IP and of name zones; the first must be listed. */
static const struct health_point health_points[][2] = {
	[DNSBL_IPS] = {{"2.0.0.127", "127.0.0.2"}, {"1.0.0.127", "127.0.0.1"}},
	[DNSBL_NAMES] = {{"test", "TEST"}, {"invalid", "INVALID"}},
};

#define HEALTH_POINTS	2
#define HEALTH_MUST_LIST	0	/* 127.0.0.2, TEST */
#define HEALTH_MUST_NOT	1	/* 127.0.0.1, INVALID */

/* What one test point got. */
enum health_answer {
	HEALTH_UNANSWERED,		/* timeout, SERVFAIL, REFUSED... */
	HEALTH_NOT_LISTED,		/* NXDOMAIN or no data */
	HEALTH_LISTED,			/* an answer in 127/8 */
	HEALTH_REFUSED,			/* 127.255.255.x or outside 127/8 */
};

/* One query of a round: a zone and a test point. */
struct health_probe {
	struct health *health;
	size_t	zone;
	size_t	point;
	enum health_answer answer;
	unsigned char a[4];		/* listed or refused with this */
};

struct health_zone {
	enum health_state state;	/* atomic */
	time_t	since;			/* when it took this state */
	unsigned char a[4];		/* the answer that took it out */
	size_t	point;			/* to which test point */
};

struct health {
	struct resolver *resolver;
	const struct dnsbl_sites *sites;
	unsigned interval;		/* seconds between rounds */
	struct event *timer;		/* starts the next round */
	size_t	zones;
	struct health_zone *zone;
	struct health_probe *probe;	/* zones * HEALTH_POINTS */
	unsigned pending;		/* queries of the round unanswered */
	bool	probed;			/* a round has ended */
	time_t	checked;		/* when the last round ended */
	struct health_fleet fleet;	/* all NULL: alone */
	bool	publishing;		/* this round is ours to publish */
};

const char *
health_state_name(enum health_state state)
{
	switch (state) {
	case HEALTH_OK:
		return "ok";
	case HEALTH_NO_TEST_POINT:
		return "no-test-point";
	case HEALTH_LISTING_WORLD:
		return "listing-world";
	case HEALTH_REFUSING:
		return "refusing";
	case HEALTH_UNKNOWN:
		break;
	}
	return "unknown";
}

enum health_state
health_state(const struct health *health, size_t zone)
{
	return __atomic_load_n(&health->zone[zone].state, __ATOMIC_RELAXED);
}

bool
health_scoring(const struct health *health, size_t zone)
{
	enum health_state state = health_state(health, zone);

	return state != HEALTH_LISTING_WORLD && state != HEALTH_REFUSING;
}

bool
health_admits(const struct health *health, const struct verdict *verdict,
	      size_t first)
{
	size_t	i;

	for (i = 0; i < health->zones && first + i < verdict->zone_count; i++)
		if (verdict->zone[first + i].state != VERDICT_ZONE_PASS
		    && !health_scoring(health, i))
			return false;
	return true;
}

bool
health_probed(const struct health *health)
{
	return health->probed;
}

/* The test point of a zone. */
static const struct health_point *
health_point(const struct health *health, size_t index, size_t point)
{
	return &health_points[dnsbl_sites_kind(health->sites, index)][point];
}

/* Say loudly why a zone is out of scoring; again at every round. */
static void
health_complain(const struct health *health, size_t index)
{
	const struct health_zone *zone = health->zone + index;
	const char *name = dnsbl_sites_zone(health->sites, index);

	if (zone->state == HEALTH_LISTING_WORLD)
		msg_error("dnsbl zone %s lists %s (answer %u.%u.%u.%u), "
			  "the RFC 5782 test point that no list may list: it "
			  "lists the world; out of scoring until it recovers",
			  name, health_point(health, index, HEALTH_MUST_NOT)->text,
			  zone->a[0], zone->a[1], zone->a[2], zone->a[3]);
	else
		msg_error("dnsbl zone %s answers %u.%u.%u.%u for the RFC 5782 "
			  "test point %s: %s; out of scoring until it recovers",
			  name, zone->a[0], zone->a[1], zone->a[2], zone->a[3],
			  health_point(health, index, zone->point)->text,
			  dnsbl_answer_advice(zone->a));
}

/* What a round's two answers say about a zone; cause: what took it out. */
static enum health_state
health_judge(const struct health *health, size_t index,
	     const struct health_probe **cause)
{
	const struct health_probe *probe = health->probe + index * HEALTH_POINTS;
	const struct health_probe *must_list = probe + HEALTH_MUST_LIST;
	const struct health_probe *must_not = probe + HEALTH_MUST_NOT;

	*cause = NULL;
	if (must_not->answer == HEALTH_REFUSED
	    || must_list->answer == HEALTH_REFUSED) {
		*cause = must_not->answer == HEALTH_REFUSED ? must_not : must_list;
		return HEALTH_REFUSING;
	}
	if (must_not->answer == HEALTH_LISTED) {
		*cause = must_not;
		return HEALTH_LISTING_WORLD;
	}
	if (must_not->answer == HEALTH_UNANSWERED
	    || must_list->answer == HEALTH_UNANSWERED)
		return health->zone[index].state;
	return must_list->answer == HEALTH_LISTED ? HEALTH_OK
	    : HEALTH_NO_TEST_POINT;
}

/* Put a zone in the state the round found, and say what changed. */
static void
health_update(struct health *health, size_t index)
{
	struct health_zone *zone = health->zone + index;
	const struct health_probe *cause;
	enum health_state was = zone->state;
	enum health_state state = health_judge(health, index, &cause);
	const char *name = dnsbl_sites_zone(health->sites, index);

	if (cause != NULL) {
		memcpy(zone->a, cause->a, sizeof(zone->a));
		zone->point = cause->point;
	}
	if (state != was) {
		zone->since = health->checked;
		__atomic_store_n(&zone->state, state, __ATOMIC_RELAXED);
	}
	if (!health_scoring(health, index))
		health_complain(health, index);
	else if (was == HEALTH_LISTING_WORLD || was == HEALTH_REFUSING)
		msg_info("dnsbl zone %s no longer %s: back in scoring", name,
			 was == HEALTH_LISTING_WORLD ? "lists the world"
			 : "refuses our queries");
	if (state == HEALTH_NO_TEST_POINT && was != HEALTH_NO_TEST_POINT)
		msg_warn("dnsbl zone %s does not list %s, the RFC 5782 "
			 "test point: it may be empty or not follow RFC 5782; "
			 "it still counts", name,
			 health_point(health, index, HEALTH_MUST_LIST)->text);
}

/* The letters of enum health_answer in a published round. */
static const char health_letters[] = {
	[HEALTH_UNANSWERED] = 'U', [HEALTH_NOT_LISTED] = 'N',
	[HEALTH_LISTED] = 'L', [HEALTH_REFUSED] = 'R',
};

/* Publish the round's answers for the fleet. */
static void
health_publish(struct health *health)
{
	const struct health_probe *probe;
	char   *text;
	size_t	size = 32 + health->zones * (256 + HEALTH_POINTS * 20);
	size_t	len;
	size_t	i;
	size_t	p;

	if ((text = malloc(size)) == NULL)
		return;
	len = (size_t) snprintf(text, size, "%lld\n", (long long) health->checked);
	for (i = 0; i < health->zones; i++) {
		len += (size_t) snprintf(text + len, size - len, "%s",
					 dnsbl_sites_zone(health->sites, i));
		for (p = 0; p < HEALTH_POINTS; p++) {
			probe = health->probe + i * HEALTH_POINTS + p;
			len += (size_t) snprintf(text + len, size - len, " %c",
						 health_letters[probe->answer]);
			if (probe->answer == HEALTH_LISTED
			    || probe->answer == HEALTH_REFUSED)
				len += (size_t) snprintf(text + len, size - len,
							 "%u.%u.%u.%u",
							 probe->a[0], probe->a[1],
							 probe->a[2], probe->a[3]);
		}
		len += (size_t) snprintf(text + len, size - len, "\n");
	}
	health->fleet.publish(health->fleet.arg, health, text);
	free(text);
}

/* One published answer at *cp into probe; false when malformed. */
static bool
health_parse_answer(const char **cp, struct health_probe *probe)
{
	const char *letter = memchr(health_letters, **cp,
				    sizeof(health_letters));
	unsigned a[4];
	int	used = 0;

	if (letter == NULL || **cp == 0)
		return false;
	probe->answer = (enum health_answer) (letter - health_letters);
	(*cp)++;
	if (probe->answer != HEALTH_LISTED && probe->answer != HEALTH_REFUSED)
		return true;
	if (sscanf(*cp, "%3u.%3u.%3u.%3u%n", a, a + 1, a + 2, a + 3, &used) != 4
	    || a[0] > 255 || a[1] > 255 || a[2] > 255 || a[3] > 255)
		return false;
	probe->a[0] = (unsigned char) a[0];
	probe->a[1] = (unsigned char) a[1];
	probe->a[2] = (unsigned char) a[2];
	probe->a[3] = (unsigned char) a[3];
	*cp += used;
	return true;
}

/*
 * Take a published round into the probes: 0, or -1 when it is not one,
 * or older than an interval.  A zone it does not name stays unanswered.
 */
static int
health_take(struct health *health, const char *text)
{
	struct health_probe *probe;
	const char *cp = text;
	const char *name;
	long long stamp;
	size_t	len;
	size_t	i;
	size_t	p;
	int	used = 0;

	if (sscanf(cp, "%lld\n%n", &stamp, &used) != 1 || used == 0
	    || stamp > (long long) time(NULL) + 60
	    || (long long) time(NULL) - stamp >= (long long) health->interval)
		return -1;
	for (i = 0; i < health->zones * HEALTH_POINTS; i++)
		health->probe[i].answer = HEALTH_UNANSWERED;
	for (cp += used; *cp; cp++) {
		len = strcspn(cp, " \n");
		for (i = 0; i < health->zones; i++) {
			name = dnsbl_sites_zone(health->sites, i);
			if (strlen(name) == len && strncmp(name, cp, len) == 0)
				break;
		}
		cp += len;
		for (p = 0; p < HEALTH_POINTS && *cp == ' '; p++) {
			cp++;
			probe = i < health->zones ?
			    health->probe + i * HEALTH_POINTS + p : NULL;
			if (probe != NULL && !health_parse_answer(&cp, probe))
				return -1;
			if (probe == NULL)
				cp += strcspn(cp, " \n");
		}
		if (*cp != '\n')
			return -1;
	}
	return 0;
}

/* Every probe of the round has answered: judge, and plan the next. */
static void
health_end_round(struct health *health)
{
	struct timeval next = {(time_t) health->interval, 0};
	size_t	i;

	health->checked = time(NULL);
	health->probed = true;
	if (health->publishing)
		health_publish(health);
	health->publishing = false;
	for (i = 0; i < health->zones; i++)
		health_update(health, i);
	if (evtimer_add(health->timer, &next) < 0)
		msg_error("dnsbl zone health: cannot plan the next probe; "
			  "zones keep their present state");
}

/* c-ares callback for one test point of one zone. */
static void
health_on_reply(void *arg, int status, int timeouts, unsigned char *reply,
		int len)
{
	struct health_probe *probe = arg;
	struct health *health = probe->health;
	struct verdict_zone zone = {0};
	unsigned char bogus[4];
	bool	has_bogus;

	(void) timeouts;
	if (status == ARES_EDESTRUCTION)
		return;
	dnsbl_answer_a(status, reply, len, health->sites, probe->zone, &zone,
		       bogus, &has_bogus);
	if (has_bogus) {
		probe->answer = HEALTH_REFUSED;
		memcpy(probe->a, bogus, sizeof(probe->a));
	} else if (zone.answer_count > 0) {
		probe->answer = HEALTH_LISTED;
		memcpy(probe->a, zone.answer[0], sizeof(probe->a));
	} else if (zone.state == VERDICT_ZONE_PASS) {
		probe->answer = HEALTH_NOT_LISTED;
	}
	if (--health->pending == 0)
		health_end_round(health);
}

/* Probe: both test points of every zone at once. */
static void
health_probe_all(struct health *health)
{
	struct health_probe *probe;
	char	name[ADDR_REVERSE_SIZE + 256];
	size_t	i;

	/* Held by one until every query is out: some fail at once. */
	health->pending = 1;
	for (i = 0; i < health->zones * HEALTH_POINTS; i++) {
		probe = health->probe + i;
		probe->answer = HEALTH_UNANSWERED;
		snprintf(name, sizeof(name), "%s.%s",
			 health_point(health, probe->zone, probe->point)->label,
			 dnsbl_sites_query_zone(health->sites, probe->zone));
		health->pending++;
		resolver_query(health->resolver, name, ns_t_a, health_on_reply,
			       probe);
	}
	if (--health->pending == 0)
		health_end_round(health);
}

/* Start a round: alone, probe; in a fleet, claim it first. */
static void
health_on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct health *health = arg;

	(void) fd;
	(void) what;
	if (health->fleet.claim == NULL)
		health_probe_all(health);
	else
		health->fleet.claim(health->fleet.arg, health);
}

void
health_claimed(struct health *health, bool mine)
{
	if (!mine) {
		health->fleet.fetch(health->fleet.arg, health);
		return;
	}
	health->publishing = true;
	health_probe_all(health);
}

void
health_fetched(struct health *health, const char *text, size_t len)
{
	/* Nothing recent: the prober is gone, so probe (for us alone). */
	if (text == NULL || memchr(text, 0, len) != NULL
	    || health_take(health, text) < 0) {
		health_probe_all(health);
		return;
	}
	health_end_round(health);
}

struct health *
health_create(struct event_base *base, struct resolver *resolver,
	      const struct dnsbl_sites *sites, unsigned interval,
	      const struct health_fleet *fleet)
{
	struct health *health;
	time_t	now = time(NULL);
	size_t	i;

	if ((health = calloc(1, sizeof(*health))) == NULL)
		return NULL;
	health->resolver = resolver;
	health->sites = sites;
	health->interval = interval;
	if (fleet != NULL)
		health->fleet = *fleet;
	health->zones = dnsbl_sites_zone_count(sites);
	health->zone = calloc(health->zones, sizeof(*health->zone));
	health->probe = calloc(health->zones * HEALTH_POINTS,
			       sizeof(*health->probe));
	health->timer = evtimer_new(base, health_on_timer, health);
	if (health->zone == NULL || health->probe == NULL
	    || health->timer == NULL) {
		health_free(health);
		return NULL;
	}
	for (i = 0; i < health->zones * HEALTH_POINTS; i++) {
		health->probe[i].health = health;
		health->probe[i].zone = i / HEALTH_POINTS;
		health->probe[i].point = i % HEALTH_POINTS;
	}
	for (i = 0; i < health->zones; i++)
		health->zone[i].since = now;
	event_active(health->timer, EV_TIMEOUT, 1);
	return health;
}

void
health_free(struct health *health)
{
	if (health == NULL)
		return;
	if (health->timer != NULL)
		event_free(health->timer);
	free(health->probe);
	free(health->zone);
	free(health);
}

/* A Unix time as 2025-11-25T17:54:55Z. */
static const char *
health_time(time_t when, char *buf, size_t size)
{
	struct tm tm;

	if (gmtime_r(&when, &tm) == NULL
	    || strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, size, "%lld", (long long) when);
	return buf;
}

void
health_describe(const struct health *health, size_t index, char *buf,
		size_t size)
{
	const struct health_zone *zone = health->zone + index;
	char	since[32];
	char	checked[32] = "never";
	char	answer[32] = "";

	if (health->probed)
		health_time(health->checked, checked, sizeof(checked));
	if (!health_scoring(health, index))
		snprintf(answer, sizeof(answer), " answer=%u.%u.%u.%u",
			 zone->a[0], zone->a[1], zone->a[2], zone->a[3]);
	snprintf(buf, size, "%s since=%s checked=%s%s",
		 health_state_name(zone->state),
		 health_time(zone->since, since, sizeof(since)), checked,
		 answer);
}
