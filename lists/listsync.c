/*
 * listsync - keep the client lists in step with the Redis sets
 * PREFIX relay, PREFIX allow and PREFIX deny, which administrators edit
 * with redis-cli.
 *
 * Why polling: keyspace notifications need a server setting that many
 * Redis services do not allow, and a lost notification would leave a list
 * stale for ever.  Every second the three sets are fetched with one
 * pipelined SMEMBERS each; a change is noticed through an order-blind
 * hash of the members, and only then is a new snapshot built, so an
 * unchanged list costs one round trip and no allocation churn, and bad
 * entries are logged once per change, not once a second.  A poll that
 * fails (a reply later than redis_timeout, Redis down) changes nothing:
 * the last good snapshot stays in force; the first failure is logged with
 * the snapshot's age, and so is the first success after it.  A key of
 * the wrong type counts as an empty set, with a warning.
 */
#include <event2/event.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/hash.h"
#include "lib/msg.h"
#include "lists/lists.h"
#include "lists/listsync.h"
#include "redis/store.h"

/* Poll period, and the quicker retry until the first poll succeeded. */
#define LISTSYNC_PERIOD_MS	1000
#define LISTSYNC_FIRST_MS	100

struct listsync;

/* What one poll got for one kind of list. */
struct listsync_set {
	struct listsync *sync;		/* back pointer, for the reply */
	size_t	kind;
	char	key[256];		/* the Redis set's name */
	char  **members;		/* copies of the members */
	size_t	count;
	bool	wrong_type;		/* the key is not a set */
};

struct listsync {
	struct event *timer;
	struct store *store;
	struct lists *lists;
	struct listsync_set set[LIST_KINDS];
	unsigned answers;		/* replies (or NULLs) this poll */
	bool	failed;			/* this poll lost a reply */
	bool	in_flight;
	bool	synced;			/* a poll has completed */
	bool	failing;		/* the last poll failed, and it was said */
	struct timespec polled;		/* when a poll last completed
					 * (CLOCK_MONOTONIC) */
	uint64_t digest;		/* of the members last applied */
	unsigned warned;		/* kinds warned about as not sets */
};

/* FNV-1a of one member, seeded by its kind. */
static uint64_t
listsync_hash(const char *text, size_t len, size_t kind)
{
	return hash_bytes(HASH_SEED + kind, text, len);
}

/* Forget what the last poll got. */
static void
listsync_clear(struct listsync *sync)
{
	struct listsync_set *set;
	size_t	i;

	for (set = sync->set; set < sync->set + LIST_KINDS; set++) {
		for (i = 0; i < set->count; i++)
			free(set->members[i]);
		free(set->members);
		set->members = NULL;
		set->count = 0;
		set->wrong_type = false;
	}
}

/* Copy a reply's members (hiredis frees the reply after the callback). */
static int
listsync_copy(struct listsync_set *set, const redisReply *reply)
{
	size_t	i;

	if (reply->type != REDIS_REPLY_ARRAY) {
		set->wrong_type = true;
		return 0;
	}
	if (reply->elements == 0)
		return 0;
	if ((set->members = calloc(reply->elements, sizeof(char *))) == NULL)
		return -1;
	for (i = 0; i < reply->elements; i++) {
		if (reply->element[i]->type != REDIS_REPLY_STRING)
			continue;
		if ((set->members[set->count] = strndup(reply->element[i]->str,
						reply->element[i]->len)) == NULL)
			return -1;
		set->count++;
	}
	return 0;
}

/* An order-blind digest of what this poll got. */
static uint64_t
listsync_digest(const struct listsync *sync)
{
	const struct listsync_set *set;
	uint64_t digest = 0;
	size_t	i;

	for (set = sync->set; set < sync->set + LIST_KINDS; set++) {
		if (set->wrong_type)
			digest += listsync_hash("", 0, set->kind + LIST_KINDS);
		for (i = 0; i < set->count; i++)
			digest += listsync_hash(set->members[i],
						strlen(set->members[i]),
						set->kind);
	}
	return digest;
}

/* Warn once per episode about a key that is not a set. */
static void
listsync_warn(struct listsync *sync, const struct listsync_set *set)
{
	unsigned bit = 1u << set->kind;

	if (!set->wrong_type) {
		sync->warned &= ~bit;
	} else if (!(sync->warned & bit)) {
		msg_warn("redis key %s is not a set; the %s list from Redis "
			 "is empty until it is one", set->key,
			 lists_kind_name(set->kind));
		sync->warned |= bit;
	}
}

/* All three replies are in: apply them if they changed. */
static void
listsync_apply(struct listsync *sync)
{
	const char *sources[LIST_KINDS];
	char  **members[LIST_KINDS];
	size_t	counts[LIST_KINDS];
	uint64_t digest = listsync_digest(sync);
	size_t	kind;

	if (sync->synced && digest == sync->digest)
		return;
	for (kind = 0; kind < LIST_KINDS; kind++) {
		listsync_warn(sync, sync->set + kind);
		members[kind] = sync->set[kind].members;
		counts[kind] = sync->set[kind].count;
		sources[kind] = sync->set[kind].key;
	}
	if (lists_update(sync->lists, (char *const *const *) members, counts,
			 sources) < 0) {
		msg_warn("redis lists: out of memory; the previous lists stay "
			 "in force");
		return;
	}
	sync->digest = digest;
	sync->synced = true;
}

/* Seconds since the last poll that completed. */
static long
listsync_age(const struct listsync *sync)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (long) (now.tv_sec - sync->polled.tv_sec);
}

/* A poll failed: say so once, with what stays in force. */
static void
listsync_failed(struct listsync *sync)
{
	if (sync->failing)
		return;
	sync->failing = true;
	if (sync->synced)
		msg_warn("redis lists: a poll of the relay, allow and deny sets "
			 "failed (no reply within redis_timeout, or none at "
			 "all); the lists read %ld s ago stay in force",
			 listsync_age(sync));
	else
		msg_warn("redis lists: a poll of the relay, allow and deny sets "
			 "failed (no reply within redis_timeout, or none at "
			 "all); only the list files are in force");
}

/* A poll completed: apply it, and say when that ends a failure. */
static void
listsync_succeeded(struct listsync *sync)
{
	listsync_apply(sync);
	if (sync->failing)
		msg_info("redis lists: polls succeed again; the lists in force "
			 "had not been read for %ld s", listsync_age(sync));
	sync->failing = false;
	clock_gettime(CLOCK_MONOTONIC, &sync->polled);
}

/* One SMEMBERS reply arrived (or failed). */
static void
listsync_on_reply(redisReply *reply, void *arg)
{
	struct listsync_set *set = arg;
	struct listsync *sync = set->sync;

	if (reply == NULL || listsync_copy(set, reply) < 0)
		sync->failed = true;
	if (++sync->answers < LIST_KINDS)
		return;
	if (sync->failed)
		listsync_failed(sync);
	else
		listsync_succeeded(sync);
	listsync_clear(sync);
	sync->in_flight = false;
}

/* Timer: start a poll when Redis is up and none is running. */
static void
listsync_on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct listsync *sync = arg;
	struct timeval tv;
	unsigned ms = sync->synced ? LISTSYNC_PERIOD_MS : LISTSYNC_FIRST_MS;
	size_t	kind;

	(void) fd;
	(void) what;
	if (!sync->in_flight && store_state(sync->store) == STORE_READY) {
		sync->answers = 0;
		sync->failed = false;
		sync->in_flight = true;
		for (kind = 0; kind < LIST_KINDS; kind++)
			if (store_command(sync->store, listsync_on_reply,
					  sync->set + kind, "SMEMBERS %s",
					  sync->set[kind].key) < 0)
				listsync_on_reply(NULL, sync->set + kind);
	}
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(sync->timer, &tv);
}

struct listsync *
listsync_create(struct event_base *base, struct store *store,
		struct lists *lists, const char *prefix)
{
	struct listsync *sync;
	size_t	kind;

	if ((sync = calloc(1, sizeof(*sync))) == NULL)
		return NULL;
	if ((sync->timer = evtimer_new(base, listsync_on_timer, sync)) == NULL) {
		free(sync);
		return NULL;
	}
	sync->store = store;
	sync->lists = lists;
	for (kind = 0; kind < LIST_KINDS; kind++) {
		sync->set[kind].sync = sync;
		sync->set[kind].kind = kind;
		snprintf(sync->set[kind].key, sizeof(sync->set[kind].key),
			 "%s%s", prefix, lists_kind_name(kind));
	}
	event_active(sync->timer, EV_TIMEOUT, 1);
	return sync;
}

void
listsync_free(struct listsync *sync)
{
	if (sync == NULL)
		return;
	event_free(sync->timer);
	listsync_clear(sync);
	free(sync);
}

bool
listsync_synced(const struct listsync *sync)
{
	return sync->synced;
}
