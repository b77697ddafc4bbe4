/*
 * listsync - keep the client lists in step with the Redis sets
 * PREFIX relay, PREFIX allow and PREFIX deny, which administrators edit
 * with redis-cli.
 *
 * It reads sets when they change and says how current they are; it does
 * not parse entries or match clients (lists.c does).
 */
#ifndef RBL_LISTS_LISTSYNC_H
#define RBL_LISTS_LISTSYNC_H

#include <stdbool.h>
#include <stddef.h>

struct event_base;
struct lists;
struct listsync;
struct stats;
struct store;

/*
 * Start reading now, then check each second and read a set again when it
 * changed, and every resync_s seconds whatever happened.  stats (or NULL)
 * gets the state for --stats.  NULL when out of memory.
 */
struct listsync *listsync_create(struct event_base *base, struct store *store,
				 struct lists *lists, struct stats *stats,
				 const char *prefix, unsigned resync_s);
/* After store_free(): the store may still answer pending commands. */
void	listsync_free(struct listsync *sync);

/* Has every set been read once since the start? */
bool	listsync_synced(const struct listsync *sync);

#endif
