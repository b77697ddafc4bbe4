/*
 * worker - the loop thread of the daemon: one libevent loop that owns the
 * DNS engine, Redis and the caches, and the hand-off of lookups from the
 * milter's session threads to it.
 *
 * Session threads never talk to DNS or Redis.  They take a reference on
 * the generation in force (configuration + stack), ask its memory cache
 * themselves, and otherwise submit a lookup and later wait for it with a
 * deadline.  A reload makes a new generation; sessions in progress finish
 * on the one they started with.
 */
#ifndef RBL_RUNTIME_WORKER_H
#define RBL_RUNTIME_WORKER_H

#include <stddef.h>

#include "cache/vcache.h"

struct config;
struct event_base;
struct verdict;
struct worker;
struct worker_lookup;
struct generation;
struct greylist_triplet;

/*
 * A front end that lives on the loop thread (the policy service, the
 * metrics endpoint): opened on the loop's base before the loop runs,
 * closed on the loop thread when the worker stops.  The worker knows
 * nothing else of it.
 */
struct worker_frontend {
	void   *(*open) (struct event_base *base, struct worker *worker,
			 void *arg, char *err, size_t errlen);
	void	(*close) (void *state);	/* what open returned */
	void   *arg;			/* for open */
};

/* Front ends on the loop thread at most. */
#define WORKER_FRONTENDS	4

/*
 * Start the loop thread with config (the worker owns it from now), and
 * the count front ends on it (opened in order, closed the other way).
 */
struct worker *worker_start(struct config *config,
			    const struct worker_frontend *frontends,
			    size_t count, char *err, size_t errlen);

/*
 * End the lookups in flight now, without waiting: their sessions get
 * incomplete verdicts at once (a stop that cannot wait for DNS).
 */
void	worker_abort(struct worker *worker);

/*
 * Stop the thread and free everything, with the lookups in flight ended
 * at once and the counters written; sessions must be over.  Within about
 * 1.5 s whatever happens: a generation a session still holds is then
 * left to the process's exit, with a warning.
 */
void	worker_stop(struct worker *worker);

/*
 * Build a generation from config (owned from now) and put it in force;
 * -1 with err when its stack cannot be built (the old one stays).
 */
int	worker_reload(struct worker *worker, struct config *config,
		      char *err, size_t errlen);

/* The generation in force, referenced; give it back when done. */
struct generation *worker_acquire(struct worker *worker);
void	worker_release(struct generation *generation);

const struct config *generation_config(const struct generation *generation);
struct stack *generation_stack(const struct generation *generation);

/*
 * Start a lookup of subject in kind's zones (enum dnsbl_kind: an IP as
 * addr_format() writes it, or a name from stack_names()); the memory
 * cache is asked at once.  NULL when out of memory or subject is too
 * long.
 */
struct worker_lookup *worker_submit(struct worker *worker,
				    struct generation *generation,
				    int kind, const char *subject);

/*
 * Wait for the lookup, at most until its deadline (redis_timeout +
 * dnsbl_timeout + a margin after submit).  The verdict belongs to the
 * lookup; NULL when none came in time.
 */
const struct verdict *worker_wait(struct worker_lookup *lookup,
				  enum cache_level *level);

/* The session is done with the lookup (finished or not). */
void	worker_lookup_free(struct worker_lookup *lookup);

/*
 * Ask the greylisting state about triplet from a session thread
 * (stack_greylist()), and wait for its enum greylist_outcome and the
 * seconds to wait; GREYLIST_OFF when no answer came within three Redis
 * commands' time.
 */
int	worker_greylist(struct worker *worker, struct generation *generation,
			const struct greylist_triplet *triplet, unsigned *wait);

#endif
