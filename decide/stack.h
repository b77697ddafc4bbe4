/*
 * stack - everything that turns a client IP (and the names it gave) into
 * list flags and a verdict, built from one configuration on one event
 * loop: the DNSBL engines, the memory caches, Redis, the lists and the
 * counters.
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
#include "dnsbl/health.h"
#include "dnsbl/site.h"
#include "greylist/greylist.h"
#include "lib/domain.h"
#include "lists/lists.h"

struct addr;
struct config;
struct decision;
struct event_base;
struct stack;
struct verdict_name;

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
 * Does a decision's verdict (stack_join()) looked up before the first
 * probe still hold, that is, does no zone the probe took out of scoring
 * have a say in it?
 */
bool	stack_admits(const struct stack *stack, const struct verdict *verdict);

/* LIST_* flags for addr (lists.h); any thread may ask. */
unsigned stack_lists(struct stack *stack, const struct addr *addr);

/*
 * The verdict of subject in the memory cache of kind's zones, or NULL;
 * any thread may ask.  subject: an IP as addr_format() writes it, or a
 * name from stack_names().
 */
struct verdict *stack_cached(struct stack *stack, enum dnsbl_kind kind,
			     const char *subject);

/*
 * Look subject up in kind's zones (vcache_submit()); on the loop's
 * thread only.  -1: out of memory, or no zones of that kind.
 */
int	stack_lookup(struct stack *stack, enum dnsbl_kind kind,
		     const char *subject, vcache_done_fn *done, void *arg);

/*
 * The names to look up in the domain zones for what a client gave in
 * role (enum domain_role): its HELO name, its sender address, its
 * verified hostname.  0, 1 or 2 in out (domain_lookup_names()); 0 without
 * rhsbl_sites, for a role rhsbl_names leaves out, or for text that gives
 * no name fit for a lookup.  Any thread may ask.
 */
size_t	stack_names(const struct stack *stack, int role, const char *text,
		    char out[2][DOMAIN_NAME_SIZE]);

/*
 * One decision's verdict: ip's joined with those of the names
 * (verdict_join()), over the configuration's scored_sites.  NULL: out of
 * memory.
 */
struct verdict *stack_join(const struct stack *stack, const struct verdict *ip,
			   const struct verdict_name *names, size_t count);

/*
 * The greylisting triplet of a recipient (greylist_triplet()), with the
 * configuration's network widths; any thread may ask.
 */
void	stack_greylist_triplet(const struct stack *stack,
			       const struct addr *client, const char *sender,
			       const char *recipient,
			       struct greylist_triplet *triplet);

/*
 * Record an attempt of triplet now and say what greylisting makes of it
 * (greylist_check()); GREYLIST_OFF when greylisting is off.  On the
 * loop's thread only.
 */
void	stack_greylist(struct stack *stack,
		       const struct greylist_triplet *triplet,
		       greylist_done_fn *done, void *arg);

/*
 * End the DNS lookups in flight now and later ones at once, caching none
 * of them (dnsbl_engine_abort()); on the loop's thread, for a stop.
 */
void	stack_abort(struct stack *stack);

/* Count one event; any thread may count. */
void	stack_count(struct stack *stack, enum stats_counter counter);

/*
 * Count a decision made on verdict (NULL: none), and the rejections each
 * listing shadow zone would have made; any thread may count.
 */
void	stack_count_decision(struct stack *stack, const struct decision *decision,
			     const struct verdict *verdict);

/* Count the lists (LIST_* flags) that name a client. */
void	stack_count_lists(struct stack *stack, unsigned lists);

/*
 * What the stack knows now, for the metrics endpoint (loop thread): the
 * health of a zone of the configuration's scored_sites (HEALTH_UNKNOWN
 * when not probed); whether Redis is up (1), not (0), or not configured
 * (-1); the entries of each list, by LIST_* kind.
 */
enum health_state stack_zone_health(const struct stack *stack, size_t zone);
int	stack_redis_up(const struct stack *stack);

void	stack_list_entries(const struct stack *stack,
			   size_t entries[LIST_KINDS]);

/*
 * rblmilter --stats: print the fleet's counters, then each host's view of
 * each zone's health ("health:ZONE@HOST state ..."), from Redis.
 */
int	stack_print_stats(struct stack *stack, FILE *out,
			    char *err, size_t errlen);

#endif
