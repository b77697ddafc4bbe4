/*
 * gather - one decision's lookups, on the loop thread: the client's IP
 * and the names it gave, all at once, joined into one verdict when the
 * last one answers.
 *
 * For the front ends that live on the loop thread (the policy service,
 * --check).  The milter's session threads gather their own through the
 * worker, because its names come at different stages.  Which names are
 * looked up is stack_names()' business, what the verdict means decide()'s.
 */
#ifndef RBL_DECIDE_GATHER_H
#define RBL_DECIDE_GATHER_H

#include "cache/vcache.h"
#include "lib/domain.h"

struct stack;

/* A client as a decision knows it. */
struct gather_client {
	const char *ip;			/* as addr_format() writes it */
	const char *given[DOMAIN_ROLES];	/* what the client gave in each
						 * role (HELO name, sender
						 * address, verified hostname),
						 * or NULL */
};

/*
 * Look the client up.  done runs later, from the loop, exactly once, with
 * the joined verdict (the callee owns it; NULL when out of memory) and the
 * farthest level any of its lookups went to (a miss if one was).  -1 when
 * out of memory (done does not run).
 */
int	gather_lookup(struct stack *stack, const struct gather_client *client,
		      vcache_done_fn *done, void *arg);

#endif
