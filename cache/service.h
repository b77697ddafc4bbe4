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

/* Write pending counters (waiting for Redis), then free everything. */
void	service_free(struct service *service);

/*
 * Run the loop until Redis has connected (or failed to) and the lists
 * have been read from it, so the first decisions use them.
 */
void	service_start(struct service *service);

/* LIST_* flags for addr (lists.h). */
unsigned service_lists(struct service *service, const struct addr *addr);

/* Look the verdict up (vcache_submit()). */
int	service_lookup(struct service *service, const struct addr *addr,
		       vcache_done_fn *done, void *arg);

void	service_count(struct service *service, enum stats_counter counter);

/* rblmilter --stats: print the fleet's counters from Redis. */
int	service_print_stats(struct service *service, FILE *out,
			    char *err, size_t errlen);

#endif
