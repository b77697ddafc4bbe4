/*
 * watch - Redis says which keys under some prefixes have changed.
 *
 * Redis' own notices (CLIENT TRACKING in broadcast mode) on a connection
 * of their own to the server the store talks to: they need no server
 * setting, cost nothing while nothing changes, and follow a failover.
 * It does not read the keys, nor promise that every change is told: a
 * notice lost with a connection is covered by WATCH_ALL when notices
 * start again, and callers keep a slower safety net of their own.
 */
#ifndef RBL_REDIS_WATCH_H
#define RBL_REDIS_WATCH_H

#include <stddef.h>

struct event_base;
struct store;
struct watch;

enum watch_event {
	WATCH_KEY,			/* this key changed */
	WATCH_ALL,			/* notices (re)started, or the
					 * database was flushed: any key
					 * may have changed */
	WATCH_REFUSED,			/* the server will not send notices
					 * (Redis before 6, an ACL): why */
};

/* text: the key or the reason, len bytes, valid during the call. */
typedef void watch_fn(enum watch_event event, const char *text, size_t len,
		      void *arg);

/*
 * Watch the keys starting with any of prefixes (copied; they must not
 * overlap: Redis refuses that).  NULL when out of memory.
 */
struct watch *watch_create(struct event_base *base, struct store *store,
			   const char *const *prefixes, size_t count,
			   watch_fn *fn, void *arg);
void	watch_free(struct watch *watch);

/*
 * Connect when the store is ready and follow it to a new primary; call
 * now and then (each second).  Refused notices are asked for again after
 * a while, or at once from a new primary.
 */
void	watch_poll(struct watch *watch);

enum watch_state {
	WATCH_OFF,			/* no connection (yet) */
	WATCH_STARTING,			/* asking for notices */
	WATCH_ON,			/* every change is told */
	WATCH_DENIED,			/* the server refused */
};

enum watch_state watch_state(const struct watch *watch);

/* "off", "starting", "on" or "refused". */
const char *watch_state_name(enum watch_state state);

#endif
