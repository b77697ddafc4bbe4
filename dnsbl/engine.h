/*
 * engine - look one client IP up in every DNSBL/DNSWL zone at once, or
 * one domain name in every domain zone (rhsbl_sites), by the kind of the
 * site list it is made with.
 *
 * For each lookup, one query per zone goes out through one c-ares channel
 * on the caller's libevent loop, under one deadline, so a lookup costs
 * about the slowest zone, not the sum.  The engine is single-threaded: all
 * calls, and all callbacks, happen on the loop's thread.  Caching and
 * cross-thread hand-off are other modules' work.
 */
#ifndef RBL_DNSBL_ENGINE_H
#define RBL_DNSBL_ENGINE_H

#include <stdbool.h>
#include <stddef.h>

struct dnsbl_engine;
struct dnsbl_sites;
struct event_base;
struct health;
struct health_fleet;
struct verdict;

struct dnsbl_options {
	const struct dnsbl_sites *sites;	/* must outlive the engine */
	const char *dns_servers;	/* "ip:port,[v6]:port" or "" */
	unsigned timeout_ms;		/* deadline of a whole lookup */
	unsigned min_ttl;		/* seconds, verdict TTL clamp */
	unsigned max_ttl;
	unsigned incomplete_ttl;	/* seconds, at most, when a zone
					 * gave no answer */
	bool	reply_text;		/* fetch TXT of listing zones */
	unsigned health_interval;	/* seconds between probes of the
					 * zones' health (health.h); 0: none */
	const struct health_fleet *fleet;	/* to share the probes with,
						 * or NULL (health.h) */
};

/* The lookup is over; the callee owns verdict (verdict_free()). */
typedef void dnsbl_done_fn(struct verdict *verdict, void *arg);

struct dnsbl_engine *dnsbl_engine_create(struct event_base *base,
					 const struct dnsbl_options *options,
					 char *err, size_t errlen);

/* Only when no lookup is in flight. */
void	dnsbl_engine_free(struct dnsbl_engine *engine);

/*
 * End every lookup in flight now, from the loop, and every later one at
 * once; their verdicts are incomplete and have TTL 0 (not to be cached).
 * For a daemon that stops.
 */
void	dnsbl_engine_abort(struct dnsbl_engine *engine);

/*
 * The zones' health, or NULL when health_interval is 0.  A zone it takes
 * out of scoring is not asked: it is not listed in the verdicts made
 * meanwhile, which live health_interval at most.
 */
const struct health *dnsbl_engine_health(const struct dnsbl_engine *engine);

/*
 * Start a lookup of subject: an IP address as addr_format() writes it, or
 * a name as domain_normalise() does, by the kind of the engine's sites.
 * done runs later, from the loop, exactly once - also when every query
 * failed at once.  -1 when out of memory or subject is not of that kind.
 */
int	dnsbl_submit(struct dnsbl_engine *engine, const char *subject,
		     dnsbl_done_fn *done, void *arg);

#endif
