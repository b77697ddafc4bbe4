/*
 * gather - one decision's lookups, on the loop thread, joined.
 *
 * The IP and every name go to their verdict caches at once; a name
 * already being looked up for another client joins that lookup there, so
 * a HELO name that is also the client's hostname costs one query per
 * zone.  The gathering holds itself while it submits, so that it ends
 * once, after the last callback.
 */
#include <stdlib.h>
#include <string.h>

#include "decide/gather.h"
#include "decide/stack.h"
#include "dnsbl/verdict.h"

struct gather;

/* One name being looked up. */
struct gather_name {
	struct gather *gather;
	int	role;			/* enum domain_role */
	char	name[DOMAIN_NAME_SIZE];
	struct verdict *verdict;	/* once answered; NULL: none */
};

struct gather {
	struct stack *stack;
	vcache_done_fn *done;
	void   *arg;
	unsigned pending;		/* lookups not answered, +1 while
					 * submitting */
	struct verdict *ip;		/* once answered */
	enum cache_level level;		/* the farthest so far */
	size_t	count;			/* names */
	struct gather_name name[VERDICT_MAX_NAMES];
};

/* One lookup fewer to wait for; the last one joins and ends. */
static void
gather_release(struct gather *gather)
{
	struct verdict_name names[VERDICT_MAX_NAMES];
	struct verdict *joined = NULL;
	size_t	i;

	if (--gather->pending > 0)
		return;
	for (i = 0; i < gather->count; i++) {
		names[i].role = gather->name[i].role;
		names[i].name = gather->name[i].name;
		names[i].verdict = gather->name[i].verdict;
	}
	if (gather->ip != NULL)
		joined = stack_join(gather->stack, gather->ip, names,
				    gather->count);
	verdict_free(gather->ip);
	for (i = 0; i < gather->count; i++)
		verdict_free(gather->name[i].verdict);
	gather->done(joined, gather->level, gather->arg);
	free(gather);
}

/* Keep the farthest level. */
static void
gather_level(struct gather *gather, enum cache_level level)
{
	if (level > gather->level)
		gather->level = level;
}

/* The IP's verdict came. */
static void
gather_on_ip(struct verdict *verdict, enum cache_level level, void *arg)
{
	struct gather *gather = arg;

	gather->ip = verdict;
	gather_level(gather, level);
	gather_release(gather);
}

/* A name's verdict came. */
static void
gather_on_name(struct verdict *verdict, enum cache_level level, void *arg)
{
	struct gather_name *name = arg;

	name->verdict = verdict;
	gather_level(name->gather, level);
	gather_release(name->gather);
}

/* Add the names of one role and submit their lookups. */
static void
gather_role(struct gather *gather, int role, const char *given)
{
	char	names[2][DOMAIN_NAME_SIZE];
	struct gather_name *name;
	size_t	count;
	size_t	i;

	count = stack_names(gather->stack, role, given, names);
	for (i = 0; i < count && gather->count < VERDICT_MAX_NAMES; i++) {
		name = gather->name + gather->count++;
		name->gather = gather;
		name->role = role;
		strcpy(name->name, names[i]);
		gather->pending++;
		/* Unasked, the name's zones are unknown: none came. */
		if (stack_lookup(gather->stack, DNSBL_NAMES, name->name,
				 gather_on_name, name) < 0)
			gather->pending--;
	}
}

int
gather_lookup(struct stack *stack, const struct gather_client *client,
	      vcache_done_fn *done, void *arg)
{
	struct gather *gather;
	int	role;

	if ((gather = calloc(1, sizeof(*gather))) == NULL)
		return -1;
	gather->stack = stack;
	gather->done = done;
	gather->arg = arg;
	gather->level = CACHE_MEMORY;
	gather->pending = 2;
	if (stack_lookup(stack, DNSBL_IPS, client->ip, gather_on_ip,
			 gather) < 0) {
		free(gather);
		return -1;
	}
	for (role = 0; role < DOMAIN_ROLES; role++)
		gather_role(gather, role, client->given[role]);
	gather_release(gather);
	return 0;
}
