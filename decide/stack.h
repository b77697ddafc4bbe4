/*
 * stack - everything that turns a client IP into list flags and a
 * verdict, built from one configuration on one event loop: the DNSBL
 * engine, the memory cache, Redis, the lists and the counters.
 *
 * Front ends (--check, the milter, the policy service) hold one service
 * and ask it; they do not see its parts except through these calls.
 */
#ifndef RBL_DECIDE_STACK_H
#define RBL_DECIDE_STACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "stats/stats.h"
#include "cache/vcache.h"

struct addr;
struct config;
struct event_base;
struct stack;

/* Build the parts; -1 style NULL with err when one cannot be made. */
struct stack *stack_create(struct event_base *base,
			       const struct config *config,
			       char *err, size_t errlen);

/*
 * Free everything.  Counters not yet written are lost: call
 * stack_drain() first (a command), or stack_flush() and give the
 * writes time (the daemon, whose loop must not be run from inside).
 */
void	stack_free(struct stack *stack);

/* Run the loop until the counters are written (or Redis gave up). */
void	stack_drain(struct stack *stack);

/*
 * Send the counters now, without waiting; returns how many writes are
 * still unanswered (0 also when Redis is down: nothing more will come).
 */
unsigned stack_flush(struct stack *stack);

/*
 * Run the loop until Redis has connected (or failed to) and the lists
 * have been read from it, and with probes until the zones have been
 * probed once (health.h), so the first decisions use them; 3 s at most.
 */
void	stack_start(struct stack *stack, bool probes);

/*
 * Is Redis still on its way to a first list snapshot, or a zone to its
 * first probe?  (Loop thread.)
 */
bool	stack_starting(const struct stack *stack);

/* Have the zones been probed once (or are they never)?  (Loop thread.) */
bool	stack_probed(const struct stack *stack);

/*
 * Does a verdict looked up before the first probe still hold, that is,
 * does no zone the probe took out of scoring have a say in it?
 */
bool	stack_admits(const struct stack *stack, const struct verdict *verdict);

/* LIST_* flags for addr (lists.h); any thread may ask. */
unsigned stack_lists(struct stack *stack, const struct addr *addr);

/* The verdict in the memory cache, or NULL; any thread may ask. */
struct verdict *stack_cached(struct stack *stack,
			       const struct addr *addr);

/* Look the verdict up (vcache_submit()); on the loop's thread only. */
int	stack_lookup(struct stack *stack, const struct addr *addr,
		       vcache_done_fn *done, void *arg);

/*
 * End the DNS lookups in flight now and later ones at once, caching none
 * of them (dnsbl_engine_abort()); on the loop's thread, for a stop.
 */
void	stack_abort(struct stack *stack);

/* Count one event; any thread may count. */
void	stack_count(struct stack *stack, enum stats_counter counter);

/* Count the lists (LIST_* flags) that name a client. */
void	stack_count_lists(struct stack *stack, unsigned lists);

/*
 * rblmilter --stats: print the fleet's counters, then each host's view of
 * each zone's health ("health:ZONE@HOST state ..."), from Redis.
 */
int	stack_print_stats(struct stack *stack, FILE *out,
			    char *err, size_t errlen);

#endif
