/*
 * service - everything that turns a client IP into list flags and a
 * verdict, built from one configuration on one event loop: the DNSBL
 * engine, the memory cache, Redis, the lists and the counters.
 *
 * Front ends (--check, the milter, the policy service) hold one service
 * and ask it; they do not see its parts except through these calls.
 */
#ifndef RBL_SERVICE_H
#define RBL_SERVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "cache/stats.h"
#include "cache/vcache.h"

struct addr;
struct config;
struct event_base;
struct service;

/* Build the parts; -1 style NULL with err when one cannot be made. */
struct service *service_create(struct event_base *base,
			       const struct config *config,
			       char *err, size_t errlen);

/*
 * Free everything.  Counters not yet written are lost: call
 * service_drain() first (a command), or service_flush() and give the
 * writes time (the daemon, whose loop must not be run from inside).
 */
void	service_free(struct service *service);

/* Run the loop until the counters are written (or Redis gave up). */
void	service_drain(struct service *service);

/*
 * Send the counters now, without waiting; returns how many writes are
 * still unanswered (0 also when Redis is down: nothing more will come).
 */
unsigned service_flush(struct service *service);

/*
 * Run the loop until Redis has connected (or failed to), the lists have
 * been read from it, and the zones have been probed once (health.h), so
 * the first decisions use them.
 */
void	service_start(struct service *service);

/*
 * Is Redis still on its way to a first list snapshot, or a zone to its
 * first probe?  (Loop thread.)
 */
bool	service_starting(const struct service *service);

/* LIST_* flags for addr (lists.h); any thread may ask. */
unsigned service_lists(struct service *service, const struct addr *addr);

/* The verdict in the memory cache, or NULL; any thread may ask. */
struct verdict *service_cached(struct service *service,
			       const struct addr *addr);

/* Look the verdict up (vcache_submit()); on the loop's thread only. */
int	service_lookup(struct service *service, const struct addr *addr,
		       vcache_done_fn *done, void *arg);

/*
 * End the DNS lookups in flight now and later ones at once, caching none
 * of them (dnsbl_engine_abort()); on the loop's thread, for a stop.
 */
void	service_abort(struct service *service);

/* Count one event; any thread may count. */
void	service_count(struct service *service, enum stats_counter counter);

/* Count the lists (LIST_* flags) that name a client. */
void	service_count_lists(struct service *service, unsigned lists);

/*
 * rblmilter --stats: print the fleet's counters, then each host's view of
 * each zone's health ("health:ZONE@HOST state ..."), from Redis.
 */
int	service_print_stats(struct service *service, FILE *out,
			    char *err, size_t errlen);

#endif
