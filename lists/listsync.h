/*
 * listsync - keep the client lists in step with the Redis sets
 * PREFIX relay, PREFIX allow and PREFIX deny, which administrators edit
 * with redis-cli.
 *
 * It polls; it does not parse entries or match clients (lists.c does).
 */
#ifndef RBL_LISTS_LISTSYNC_H
#define RBL_LISTS_LISTSYNC_H

#include <stdbool.h>
#include <stddef.h>

struct event_base;
struct lists;
struct listsync;
struct store;

/* Start polling now and then every second; NULL when out of memory. */
struct listsync *listsync_create(struct event_base *base, struct store *store,
				 struct lists *lists, const char *prefix);
/* After store_free(): the store may still answer pending polls. */
void	listsync_free(struct listsync *sync);

/* Has one poll completed since the start? */
bool	listsync_synced(const struct listsync *sync);

#endif
