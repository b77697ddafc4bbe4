/*
 * sentinel - asks Redis Sentinels where the primary of a service is.
 *
 * One question at a time: each sentinel in turn, starting with the one
 * that answered last, until one names the primary, as in Redis' "Sentinel
 * client guidelines".  It does not connect to the primary, check its role
 * or follow failovers: the store does that, asking again whenever its
 * connection is lost.
 */
#ifndef RBL_REDIS_SENTINEL_H
#define RBL_REDIS_SENTINEL_H

#include <stddef.h>

struct event_base;
struct sentinel;

/*
 * The answer: the primary's IP address and port, or host NULL and a
 * message saying why no sentinel could name it; both strings live only
 * during the call.  Called once per sentinel_ask(), maybe before it
 * returns (when no connection can even be started).
 */
typedef void sentinel_fn(const char *host, unsigned port, const char *err,
			 void *arg);

/*
 * Sentinels "ip:port,[ipv6]:port" (as redis_sentinels is stored), the
 * service name (redis_master_name; must outlive the sentinel), and how
 * long each sentinel may take to connect and answer.  NULL with err.
 */
struct sentinel *sentinel_create(struct event_base *base, const char *list,
				 const char *master_name, unsigned timeout_ms,
				 char *err, size_t errlen);

/* A question still under way is dropped without its answer. */
void	sentinel_free(struct sentinel *sentinel);

/* Start a question; fn gets the answer.  One question at a time. */
void	sentinel_ask(struct sentinel *sentinel, sentinel_fn *fn, void *arg);

#endif
