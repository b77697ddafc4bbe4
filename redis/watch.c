/*
 * watch - Redis says which keys under some prefixes have changed.
 *
 * Why client tracking and not keyspace notifications: these need
 * notify-keyspace-events set on the server, which many Redis services do
 * not allow; CLIENT TRACKING (Redis 6 and later) needs nothing but the
 * right to run CLIENT and SUBSCRIBE.  hiredis 0.14 speaks RESP2 only, so
 * the connection sends its own notices to itself: CLIENT ID, then
 * CLIENT TRACKING ON REDIRECT <that id> BCAST PREFIX ..., then SUBSCRIBE
 * __redis__:invalidate, where each notice arrives as a message listing
 * the keys changed (nil when the database was flushed).
 *
 * The connection sits idle between notices, so no command deadline can
 * tell a dead server: TCP keepalive does, and so does the store, whose
 * move to another primary makes this connection follow.  Notices lost
 * between two connections are covered by WATCH_ALL when they start again.
 * Credentials are sent, never logged.
 */
#include <event2/event.h>
#include <hiredis/async.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "redis/store.h"
#include "redis/watch.h"

/* How long connect, AUTH, CLIENT and SUBSCRIBE together may take. */
#define WATCH_SETUP_MS		1000

/* A refusal is asked again after this long (the ACL may be changed). */
#define WATCH_RETRY_S		600

#define WATCH_CHANNEL		"__redis__:invalidate"

struct watch {
	struct event_base *base;
	struct store *store;
	char  **prefixes;		/* copies */
	size_t	count;
	watch_fn *fn;
	void   *arg;
	redisAsyncContext *ac;		/* NULL while off or refused */
	enum watch_state state;
	char	host[256];		/* where ac goes, or went when refused:
					 * an IP address or a unix socket */
	unsigned port;			/* 0 for a unix socket */
	time_t	refused;		/* when (CLOCK_MONOTONIC seconds) */
	struct event *deadline;		/* of the setup */
};

/* The connection is gone or going: forget it. */
static void
watch_off(struct watch *watch, enum watch_state state)
{
	watch->ac = NULL;
	watch->state = state;
	evtimer_del(watch->deadline);
}

/* End the connection from outside hiredis' callbacks. */
static void
watch_drop(struct watch *watch)
{
	redisAsyncContext *ac = watch->ac;

	watch_off(watch, WATCH_OFF);
	if (ac != NULL)
		redisAsyncFree(ac);
}

/* Seconds of the monotonic clock. */
static time_t
watch_now(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec;
}

/* An error answer during the setup: notices are refused; hang up. */
static void
watch_refuse(struct watch *watch, const redisReply *reply)
{
	redisAsyncContext *ac = watch->ac;
	const char *why = reply->type == REDIS_REPLY_ERROR ? reply->str
	    : "an unexpected answer";

	watch_off(watch, WATCH_DENIED);
	watch->refused = watch_now();
	watch->fn(WATCH_REFUSED, why, strlen(why), watch->arg);
	redisAsyncDisconnect(ac);
}

/* Whether a reply is for the connection in use (not one dropped). */
static bool
watch_current(const struct watch *watch, const redisAsyncContext *ac,
	      const void *reply)
{
	return reply != NULL && ac == watch->ac;
}

/* A message on the channel: keys changed; or the SUBSCRIBE answer. */
static void
watch_on_message(redisAsyncContext *ac, void *r, void *privdata)
{
	struct watch *watch = privdata;
	const redisReply *reply = r;
	const redisReply *keys;
	size_t	i;

	if (!watch_current(watch, ac, reply))
		return;
	if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 3
	    || reply->element[0]->type != REDIS_REPLY_STRING) {
		watch->fn(WATCH_ALL, "", 0, watch->arg);
		return;
	}
	if (strcmp(reply->element[0]->str, "subscribe") == 0) {
		evtimer_del(watch->deadline);
		watch->state = WATCH_ON;
		watch->fn(WATCH_ALL, "", 0, watch->arg);
		return;
	}
	keys = reply->element[2];
	if (keys->type != REDIS_REPLY_ARRAY) {
		watch->fn(WATCH_ALL, "", 0, watch->arg);
		return;
	}
	for (i = 0; i < keys->elements; i++)
		if (keys->element[i]->type == REDIS_REPLY_STRING)
			watch->fn(WATCH_KEY, keys->element[i]->str,
				  keys->element[i]->len, watch->arg);
}

/* CLIENT TRACKING answered: listen. */
static void
watch_on_tracking(redisAsyncContext *ac, void *r, void *privdata)
{
	struct watch *watch = privdata;
	const redisReply *reply = r;

	if (!watch_current(watch, ac, reply))
		return;
	if (reply->type != REDIS_REPLY_STATUS)
		watch_refuse(watch, reply);
	else if (redisAsyncCommand(ac, watch_on_message, watch, "SUBSCRIBE "
				   WATCH_CHANNEL) != REDIS_OK)
		redisAsyncDisconnect(ac);
}

/* CLIENT ID answered: send the notices of the prefixes to ourselves. */
static void
watch_on_id(redisAsyncContext *ac, void *r, void *privdata)
{
	struct watch *watch = privdata;
	const redisReply *reply = r;
	const char **argv;
	char	id[32];
	size_t	argc = 0;
	size_t	i;

	if (!watch_current(watch, ac, reply))
		return;
	if (reply->type != REDIS_REPLY_INTEGER) {
		watch_refuse(watch, reply);
		return;
	}
	if ((argv = calloc(6 + 2 * watch->count, sizeof(*argv))) == NULL) {
		redisAsyncDisconnect(ac);
		return;
	}
	snprintf(id, sizeof(id), "%lld", reply->integer);
	argv[argc++] = "CLIENT";
	argv[argc++] = "TRACKING";
	argv[argc++] = "ON";
	argv[argc++] = "REDIRECT";
	argv[argc++] = id;
	argv[argc++] = "BCAST";
	for (i = 0; i < watch->count; i++) {
		argv[argc++] = "PREFIX";
		argv[argc++] = watch->prefixes[i];
	}
	if (redisAsyncCommandArgv(ac, watch_on_tracking, watch, (int) argc,
				  argv, NULL) != REDIS_OK)
		redisAsyncDisconnect(ac);
	free(argv);
}

/* AUTH answered: an error means no notices from here. */
static void
watch_on_auth(redisAsyncContext *ac, void *r, void *privdata)
{
	struct watch *watch = privdata;
	const redisReply *reply = r;

	if (watch_current(watch, ac, reply) && reply->type != REDIS_REPLY_STATUS)
		watch_refuse(watch, reply);
}

/* hiredis: connected (or not): log in, then ask for notices. */
static void
watch_on_connect(const redisAsyncContext *cac, int status)
{
	struct watch *watch = cac->data;
	redisAsyncContext *ac = watch->ac;
	const struct store_options *login;
	const char *host;
	unsigned port;
	int	sent = REDIS_OK;

	if (cac != ac)
		return;
	if (status != REDIS_OK) {
		watch_off(watch, WATCH_OFF);
		return;
	}
	redisEnableKeepAlive(&ac->c);
	if ((login = store_target(watch->store, &host, &port)) == NULL) {
		redisAsyncDisconnect(ac);
		return;
	}
	if (*login->password && *login->username)
		sent = redisAsyncCommand(ac, watch_on_auth, watch, "AUTH %s %s",
					 login->username, login->password);
	else if (*login->password)
		sent = redisAsyncCommand(ac, watch_on_auth, watch, "AUTH %s",
					 login->password);
	if (sent != REDIS_OK || redisAsyncCommand(ac, watch_on_id, watch,
						  "CLIENT ID") != REDIS_OK)
		redisAsyncDisconnect(ac);
}

/* hiredis: the connection closed; ac is freed after this returns. */
static void
watch_on_disconnect(const redisAsyncContext *ac, int status)
{
	struct watch *watch = ac->data;

	(void) status;
	if (ac == watch->ac)
		watch_off(watch, WATCH_OFF);
}

/* The setup took too long (a frozen server): try again later. */
static void
watch_on_deadline(evutil_socket_t fd, short what, void *arg)
{
	(void) fd;
	(void) what;
	watch_drop(arg);
}

/* Connect to host:port (0: a unix socket). */
static void
watch_open(struct watch *watch, const char *host, unsigned port)
{
	struct timeval tv = {WATCH_SETUP_MS / 1000,
	(WATCH_SETUP_MS % 1000) * 1000};
	redisAsyncContext *ac;
	char	why[200];

	snprintf(watch->host, sizeof(watch->host), "%s", host);
	watch->port = port;
	/* Not even started: the next poll tries again. */
	if ((ac = store_dial(watch->base, host, port, watch, watch_on_connect,
			     watch_on_disconnect, why, sizeof(why))) == NULL)
		return;
	watch->ac = ac;
	watch->state = WATCH_STARTING;
	evtimer_add(watch->deadline, &tv);
}

void
watch_poll(struct watch *watch)
{
	const char *host;
	unsigned port;
	bool	same;

	if (store_target(watch->store, &host, &port) == NULL)
		return;
	same = strcmp(host, watch->host) == 0 && port == watch->port;
	if (watch->ac != NULL && !same)
		watch_drop(watch);
	if (watch->ac != NULL)
		return;
	if (watch->state == WATCH_DENIED && same
	    && watch_now() - watch->refused < WATCH_RETRY_S)
		return;
	watch_open(watch, host, port);
}

struct watch *
watch_create(struct event_base *base, struct store *store,
	     const char *const *prefixes, size_t count, watch_fn *fn,
	     void *arg)
{
	struct watch *watch;

	if ((watch = calloc(1, sizeof(*watch))) == NULL)
		return NULL;
	watch->base = base;
	watch->store = store;
	watch->fn = fn;
	watch->arg = arg;
	if ((watch->deadline = evtimer_new(base, watch_on_deadline,
					   watch)) == NULL
	    || (watch->prefixes = calloc(count, sizeof(char *))) == NULL) {
		watch_free(watch);
		return NULL;
	}
	for (watch->count = 0; watch->count < count; watch->count++)
		if ((watch->prefixes[watch->count] =
		     strdup(prefixes[watch->count])) == NULL) {
			watch_free(watch);
			return NULL;
		}
	return watch;
}

void
watch_free(struct watch *watch)
{
	size_t	i;

	if (watch == NULL)
		return;
	if (watch->ac != NULL)
		watch_drop(watch);
	if (watch->deadline != NULL)
		event_free(watch->deadline);
	for (i = 0; i < watch->count; i++)
		free(watch->prefixes[i]);
	free(watch->prefixes);
	free(watch);
}

enum watch_state
watch_state(const struct watch *watch)
{
	return watch->state;
}

const char *
watch_state_name(enum watch_state state)
{
	static const char *const names[] = {"off", "starting", "on",
	"refused"};

	return names[state];
}
