/*
 * store - the Redis connection: non-blocking commands with a deadline.
 *
 * hiredis 0.14 has no command timeout, so each command carries its own
 * loop timer: when it fires first, the caller gets NULL at once and the
 * late reply is dropped.  A deadline that passes when no reply at all
 * has come for STORE_SILENT_MS means a frozen server (a stopped process
 * still accepts TCP connections): the connection is torn down and
 * retried with backoff.  Silence, not a count of missed deadlines: with
 * hundreds of commands in flight, one short stall of a busy server makes
 * many miss theirs at once, and tearing down a working connection for
 * that would only cost a reconnect.
 *
 * The connection counts as ready only when PING has answered after AUTH
 * and SELECT, so a wrong password or a frozen server never looks up.
 * Passwords are sent, never logged.
 *
 * With Redis Sentinel, every connection attempt starts by asking the
 * sentinels for the primary, and ROLE replaces PING: a server that the
 * sentinels still name while it is being demoted is not taken as the
 * primary.  Losing the connection, or a READONLY answer to a write,
 * starts the same cycle, so a failover costs the cache entries written
 * meanwhile and nothing else.
 */
#include <event2/event.h>
#include <hiredis/async.h>
#include <hiredis/adapters/libevent.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "redis/sentinel.h"
#include "redis/store.h"
#include "lib/addr.h"
#include "lib/msg.h"

/* How long connect, AUTH, SELECT and PING together may take. */
#define STORE_CONNECT_MS	1000

/* Reconnect backoff, doubling from the first to the last. */
#define STORE_BACKOFF_MIN_MS	100
#define STORE_BACKOFF_MAX_MS	5000

/* No reply for this long, while commands wait, makes a connection dead. */
#define STORE_SILENT_MS	1000

struct store {
	struct event_base *base;
	struct store_options options;	/* strings belong to the caller */
	struct sentinel *sentinel;	/* NULL without sentinels */
	char	primary[ADDR_TEXT_SIZE];	/* as the sentinels named it */
	unsigned primary_port;
	char	name[256];		/* "host:port" or "unix:path", for logs */
	redisAsyncContext *ac;		/* NULL while down */
	enum store_state state;
	struct event *retry;		/* reconnect timer; also the handshake
					 * deadline while connecting */
	unsigned backoff_ms;		/* next reconnect delay */
	unsigned long heard_ms;		/* last reply, or start of waiting */
	unsigned waiting;		/* commands sent, reply not yet in */
	bool	said_down;		/* the "down" line is out */
};

/* One command in flight. */
struct store_request {
	struct store *store;
	store_reply_fn *fn;		/* NULL: nobody waits for the reply */
	void   *arg;
	struct event *deadline;
	bool	answered;		/* fn has been called */
};

static void store_connect(struct store *);

/* A command failed: tell whoever counts (options.failed). */
static void
store_failed(const struct store *store)
{
	if (store->options.failed != NULL)
		store->options.failed();
}

/* Give a request its answer (once) and stop its deadline. */
static void
store_answer(struct store_request *request, redisReply *reply)
{
	if (request->answered)
		return;
	request->answered = true;
	if (reply == NULL || reply->type == REDIS_REPLY_ERROR)
		store_failed(request->store);
	event_del(request->deadline);
	if (request->fn)
		request->fn(reply, request->arg);
}

/* Schedule the next connection attempt, with backoff. */
static void
store_schedule(struct store *store)
{
	struct timeval tv;

	tv.tv_sec = store->backoff_ms / 1000;
	tv.tv_usec = (store->backoff_ms % 1000) * 1000;
	evtimer_add(store->retry, &tv);
	store->backoff_ms *= 2;
	if (store->backoff_ms > STORE_BACKOFF_MAX_MS)
		store->backoff_ms = STORE_BACKOFF_MAX_MS;
}

/* The connection is gone (ac already freed or being freed): say so once. */
static void
store_down(struct store *store, const char *why)
{
	store->ac = NULL;
	store->state = STORE_DOWN;
	if (!store->said_down) {
		msg_warn("redis %s is down: %s; going on with DNS and the "
			 "memory cache", store->name, why);
		store->said_down = true;
	}
	store_schedule(store);
}

/* Tear the connection down from outside hiredis' callbacks. */
static void
store_drop(struct store *store, const char *why)
{
	redisAsyncContext *ac = store->ac;

	store_down(store, why);
	if (ac != NULL)
		redisAsyncFree(ac);
}

/* End the connection from inside a hiredis callback: disconnect, not free. */
static void
store_hang_up(struct store *store, const char *why)
{
	redisAsyncDisconnect(store->ac);
	store_down(store, why);
}

/* Milliseconds of the monotonic clock. */
static unsigned long
store_now_ms(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (unsigned long) now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

/* A command's deadline passed. */
static void
store_on_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct store_request *request = arg;
	struct store *store = request->store;
	char	why[80];

	(void) fd;
	(void) what;
	store_answer(request, NULL);
	if (store->state == STORE_READY
	    && store_now_ms() - store->heard_ms >= STORE_SILENT_MS) {
		snprintf(why, sizeof(why), "commands time out: no reply for "
			 "%lu ms", store_now_ms() - store->heard_ms);
		store_drop(store, why);
	}
}

/* A write refused because the server was demoted: find the primary. */
static bool
store_demoted(const struct store *store, const redisAsyncContext *ac,
	      const redisReply *reply)
{
	return store->sentinel != NULL && ac == store->ac
	    && store->state == STORE_READY
	    && reply->type == REDIS_REPLY_ERROR
	    && strncmp(reply->str, "READONLY", 8) == 0;
}

/* hiredis callback: a reply, or NULL when the connection goes away. */
static void
store_on_reply(redisAsyncContext *ac, void *reply, void *privdata)
{
	struct store_request *request = privdata;
	struct store *store = request->store;

	/* Even a late reply shows the server is not frozen. */
	if (reply != NULL)
		store->heard_ms = store_now_ms();
	store->waiting--;
	store_answer(request, reply);
	event_free(request->deadline);
	free(request);
	if (reply != NULL && store_demoted(store, ac, reply))
		store_hang_up(store, "it answers READONLY: no longer the "
			      "primary");
}

/* Send one command on ac with a deadline; -1 when it cannot be sent. */
static int
store_send(struct store *store, store_reply_fn *fn, void *arg,
	   const char *format, va_list ap)
{
	struct store_request *request;
	struct timeval tv;

	if ((request = calloc(1, sizeof(*request))) == NULL)
		return -1;
	request->store = store;
	request->fn = fn;
	request->arg = arg;
	request->deadline = evtimer_new(store->base, store_on_deadline, request);
	if (request->deadline == NULL
	    || redisvAsyncCommand(store->ac, store_on_reply, request, format,
				  ap) != REDIS_OK) {
		if (request->deadline)
			event_free(request->deadline);
		free(request);
		return -1;
	}
	tv.tv_sec = store->options.timeout_ms / 1000;
	tv.tv_usec = (store->options.timeout_ms % 1000) * 1000;
	evtimer_add(request->deadline, &tv);
	/* Silence counts from a reply, or from when waiting began. */
	if (store->waiting++ == 0)
		store->heard_ms = store_now_ms();
	return 0;
}

/* Like store_send, with arguments. */
static int
store_sendf(struct store *store, store_reply_fn *fn, void *arg,
	    const char *format, ...)
{
	va_list	ap;
	int	status;

	va_start(ap, format);
	status = store_send(store, fn, arg, format, ap);
	va_end(ap);
	return status;
}

/*
 * AUTH or SELECT answered: an error ends the connection.  No answer is
 * left to the handshake deadline, which frees the connection from outside
 * hiredis.
 */
static void
store_on_setup(redisReply *reply, void *arg)
{
	struct store *store = arg;
	char	why[200];

	if (store->state != STORE_CONNECTING || store->ac == NULL
	    || reply == NULL || reply->type == REDIS_REPLY_STATUS)
		return;
	snprintf(why, sizeof(why), "%s", reply->type == REDIS_REPLY_ERROR ?
		 reply->str : "unexpected reply to AUTH or SELECT");
	store_hang_up(store, why);
}

/* Whether a ROLE reply says "master". */
static bool
store_is_primary(const redisReply *reply)
{
	return reply->type == REDIS_REPLY_ARRAY && reply->elements > 0
	    && reply->element[0]->type == REDIS_REPLY_STRING
	    && strcmp(reply->element[0]->str, "master") == 0;
}

/* PING (or, with sentinels, ROLE) answered after AUTH and SELECT: ready. */
static void
store_on_ping(redisReply *reply, void *arg)
{
	struct store *store = arg;

	if (store->state != STORE_CONNECTING || store->ac == NULL
	    || reply == NULL)
		return;
	/* "NOAUTH ...", or ROLE refused by an ACL: say so now. */
	if (reply->type == REDIS_REPLY_ERROR) {
		store_hang_up(store, reply->str);
		return;
	}
	if (store->sentinel != NULL && !store_is_primary(reply)) {
		store_hang_up(store, "the server the sentinels named is not "
			      "the primary (yet)");
		return;
	}
	evtimer_del(store->retry);
	store->state = STORE_READY;
	store->backoff_ms = STORE_BACKOFF_MIN_MS;
	store->heard_ms = store_now_ms();
	if (store->said_down)
		msg_info("redis %s is back", store->name);
	store->said_down = false;
}

/* hiredis: the TCP/unix connection is up (or failed). */
static void
store_on_connect(const redisAsyncContext *ac, int status)
{
	struct store *store = ac->data;
	int	sent = 0;

	if (ac != store->ac)
		return;
	if (status != REDIS_OK) {
		store_down(store, ac->errstr);
		return;
	}
	if (*store->options.password && *store->options.username)
		sent |= store_sendf(store, store_on_setup, store, "AUTH %s %s",
				    store->options.username,
				    store->options.password);
	else if (*store->options.password)
		sent |= store_sendf(store, store_on_setup, store, "AUTH %s",
				    store->options.password);
	if (store->options.db != 0)
		sent |= store_sendf(store, store_on_setup, store, "SELECT %u",
				    store->options.db);
	sent |= store_sendf(store, store_on_ping, store,
			    store->sentinel ? "ROLE" : "PING");
	if (sent != 0) {
		redisAsyncDisconnect(store->ac);
		store_down(store, "out of memory");
	}
}

/* hiredis: the connection closed; ac is freed after this returns. */
static void
store_on_disconnect(const redisAsyncContext *ac, int status)
{
	struct store *store = ac->data;

	if (ac != store->ac)
		return;
	store_down(store, status == REDIS_OK ? "connection closed"
		   : ac->errstr);
}

/* Retry timer, or the handshake deadline while connecting. */
static void
store_on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct store *store = arg;

	(void) fd;
	(void) what;
	if (store->state == STORE_CONNECTING)
		store_drop(store, "no answer to connect/AUTH/PING in time");
	else
		store_connect(store);
}

redisAsyncContext *
store_dial(struct event_base *base, const char *host, unsigned port,
	   void *data, redisConnectCallback *on_connect,
	   redisDisconnectCallback *on_disconnect, char *why, size_t size)
{
	redisAsyncContext *ac;

	ac = port == 0 ? redisAsyncConnectUnix(host)
	    : redisAsyncConnect(host, (int) port);
	if (ac == NULL || ac->err) {
		snprintf(why, size, "%s", ac ? ac->errstr : "out of memory");
		if (ac)
			redisAsyncFree(ac);
		return NULL;
	}
	ac->data = data;
	if (redisLibeventAttach(ac, base) != REDIS_OK
	    || redisAsyncSetConnectCallback(ac, on_connect) != REDIS_OK
	    || redisAsyncSetDisconnectCallback(ac, on_disconnect) != REDIS_OK) {
		redisAsyncFree(ac);
		snprintf(why, size, "cannot attach to the event loop");
		return NULL;
	}
	return ac;
}

/* Connect to host:port (port 0: a unix socket), then the handshake. */
static void
store_open(struct store *store, const char *host, unsigned port)
{
	struct timeval tv = {STORE_CONNECT_MS / 1000,
	(STORE_CONNECT_MS % 1000) * 1000};
	redisAsyncContext *ac;
	char	why[200];

	if ((ac = store_dial(store->base, host, port, store, store_on_connect,
			     store_on_disconnect, why, sizeof(why))) == NULL) {
		store_down(store, why);
		return;
	}
	store->ac = ac;
	store->state = STORE_CONNECTING;
	evtimer_add(store->retry, &tv);
}

/* "host:port", "[ipv6]:port" or "unix:path", for log lines. */
static void
store_name(char *name, size_t size, const char *host, unsigned port)
{
	if (port == 0)
		snprintf(name, size, "unix:%s", host);
	else
		snprintf(name, size, strchr(host, ':') ? "[%s]:%u" : "%s:%u",
			 host, port);
}

/* The sentinels answered: connect to the primary they name. */
static void
store_on_primary(const char *host, unsigned port, const char *err, void *arg)
{
	struct store *store = arg;

	if (host == NULL) {
		store_down(store, err);
		return;
	}
	if (strcmp(host, store->primary) != 0 || port != store->primary_port) {
		snprintf(store->primary, sizeof(store->primary), "%s", host);
		store->primary_port = port;
		store_name(store->name, sizeof(store->name), host, port);
		msg_info("redis sentinels name %s as the primary of %s",
			 store->name, store->options.master_name);
	}
	store_open(store, store->primary, store->primary_port);
}

/* Start one connection attempt. */
static void
store_connect(struct store *store)
{
	if (store->sentinel == NULL) {
		store_open(store, store->options.host, store->options.port);
		return;
	}
	/* Refuse commands while asking; no handshake deadline runs yet. */
	store->state = STORE_CONNECTING;
	sentinel_ask(store->sentinel, store_on_primary, store);
}

struct store *
store_create(struct event_base *base, const struct store_options *options,
	     char *err, size_t errlen)
{
	struct store *store;

	if ((store = calloc(1, sizeof(*store))) == NULL
	    || (store->retry = evtimer_new(base, store_on_timer, store)) == NULL) {
		free(store);
		snprintf(err, errlen, "redis: out of memory");
		return NULL;
	}
	store->base = base;
	store->options = *options;
	store->backoff_ms = STORE_BACKOFF_MIN_MS;
	if (*options->sentinels != 0) {
		store->sentinel = sentinel_create(base, options->sentinels,
						  options->master_name,
						  STORE_CONNECT_MS, err, errlen);
		if (store->sentinel == NULL) {
			event_free(store->retry);
			free(store);
			return NULL;
		}
		snprintf(store->name, sizeof(store->name), "primary of %s",
			 options->master_name);
	} else
		store_name(store->name, sizeof(store->name), options->host,
			   options->port);
	store_connect(store);
	return store;
}

void
store_free(struct store *store)
{
	redisAsyncContext *ac = store->ac;

	store->ac = NULL;
	if (ac != NULL)
		redisAsyncFree(ac);
	sentinel_free(store->sentinel);
	event_free(store->retry);
	free(store);
}

enum store_state
store_state(const struct store *store)
{
	return store->state;
}

const struct store_options *
store_target(const struct store *store, const char **host, unsigned *port)
{
	if (store->state != STORE_READY)
		return NULL;
	*host = store->sentinel ? store->primary : store->options.host;
	*port = store->sentinel ? store->primary_port : store->options.port;
	return &store->options;
}

int
store_command(struct store *store, store_reply_fn *fn, void *arg,
	      const char *format, ...)
{
	va_list	ap;
	int	status;

	if (store->state != STORE_READY) {
		store_failed(store);
		return -1;
	}
	va_start(ap, format);
	status = store_send(store, fn, arg, format, ap);
	va_end(ap);
	return status;
}
